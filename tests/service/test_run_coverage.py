"""A run whose period some used timeseries does not cover is refused before it is queued, naming the series."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sqlmodel import select

from engage_reflex.models import (EnergyModel, Link, LinkParameter, Location, ModelParameter, Node, Run, Scenario,
                                  Technology, User)
from engage_reflex.services import coverage, models, runs, scenarios, series_params, timeseries
from engage_reflex.services.errors import EngageError, NotFound
from tests.builder_recipe import build_with_services


@dataclasses.dataclass(frozen=True)
class Clean:
    name: str
    column: str
    timestamps: np.ndarray
    values: np.ndarray


def hourly(name: str, first: str, last: str) -> Clean:
    """An hourly series with a value at every hour of the days first..last (UTC)."""
    stamps = np.arange(np.datetime64(f"{first}T00:00"), np.datetime64(f"{last}T23:00") + 1, np.timedelta64(1, "h"))
    return Clean(name, name, stamps.astype("datetime64[s]"), np.full(len(stamps), 5.0))


@pytest.fixture
def valley(session):
    """Valley with “demand_north” (all of 2005) at North and “demand_south” (Jan-Jun 2005) at South."""
    planner = User(email="coverage@example.org", password_hash="!")
    stranger = User(email="stranger@example.org", password_hash="!")
    session.add_all([planner, stranger])
    session.commit()
    model_id = build_with_services(session, planner.id)
    rows = timeseries.store_series(session=session, user_id=planner.id, model_id=model_id, source_filename="d.csv",
                                   series=[hourly("demand_north", "2005-01-01", "2005-12-31"),
                                           hourly("demand_south", "2005-01-01", "2005-06-30")])
    ids = {r.name: r.id for r in rows}
    demand = session.exec(select(Technology.id).where(Technology.model_id == model_id,
                                                      Technology.name == "town_demand")).one()
    nodes = {loc: node for node, loc in session.exec(
        select(Node.id, Location.name).join(Location, Location.id == Node.location_id)
        .where(Node.model_id == model_id, Node.technology_id == demand)).all()}
    for location, series in (("North", "demand_north"), ("South", "demand_south")):
        series_params.attach_node_series(session=session, user_id=planner.id, node_id=nodes[location],
                                         name="sink_use_equals", series_id=ids[series])
    base = session.exec(select(Scenario).where(Scenario.model_id == model_id, Scenario.name == "base")).one()
    session.commit()
    return {"planner": planner.id, "stranger": stranger.id, "model": model_id, "base": base.id, "series": ids,
            "south_demand": nodes["South"]}


def _start(session, user_id, scenario_id, start, end):
    return runs.start_run(session=session, user_id=user_id, scenario_id=scenario_id, solver="highs",
                          subset_start=start, subset_end=end, resample="")


def _refusal(session, user_id, scenario_id, start, end) -> str:
    before = len(session.exec(select(Run.id)).all())
    with pytest.raises(EngageError) as err:
        _start(session, user_id, scenario_id, start, end)
    session.rollback()
    assert len(session.exec(select(Run.id)).all()) == before  # nothing recorded
    return err.value.message


def test_a_run_inside_both_spans_is_queued(session, redis_url, valley):
    view = coverage.scenario_coverage(session=session, user_id=valley["planner"], scenario_id=valley["base"],
                                      start="2005-03-01", end="2005-03-02")
    assert view.covered and view.refusal == ""
    assert (view.period_start, view.period_end, view.period_source) == ("2005-03-01", "2005-03-02", "chosen")
    by_name = {s.name: s for s in view.series}
    assert set(by_name) == {"demand_north", "demand_south", "Time steps"}
    assert by_name["demand_south"].used_by == ("town_demand at South: sink_use_equals",)
    assert (by_name["demand_south"].first_day, by_name["demand_south"].last_day) == ("2005-01-01", "2005-06-30")
    assert by_name["Time steps"].used_by == ("the model's time steps (timestep_weights)",)

    run = _start(session, valley["planner"], valley["base"], "2005-03-01", "2005-03-02")
    assert run.status == "queued" and (run.subset_start, run.subset_end) == ("2005-03-01", "2005-03-02")


def test_a_period_past_one_series_is_refused_naming_it_and_its_dates(session, redis_url, valley):
    message = _refusal(session, valley["planner"], valley["base"], "2005-06-01", "2005-07-15")
    assert message == (
        "The timeseries “demand_south” covers 2005-01-01 to 2005-06-30, but the run period is 2005-06-01 to "
        "2005-07-15: choose dates inside 2005-01-01 – 2005-06-30, or upload data for 2005-07-01 to 2005-07-15.")
    assert coverage.scenario_coverage(session=session, user_id=valley["planner"], scenario_id=valley["base"],
                                      start="2005-06-30", end="2005-06-30").covered
    assert "2005-07-01 to 2005-07-01" in _refusal(session, valley["planner"], valley["base"], "2005-06-30",
                                                  "2005-07-01")


def test_a_series_whose_node_the_scenario_switches_off_is_ignored(session, redis_url, valley):
    north_only = scenarios.create_scenario(session=session, user_id=valley["planner"], model_id=valley["model"],
                                           name="north only").id
    scenarios.switch_rows(session=session, user_id=valley["planner"], scenario_id=north_only, kind="node",
                          ids=[valley["south_demand"]], active=False)
    session.commit()
    view = coverage.scenario_coverage(session=session, user_id=valley["planner"], scenario_id=north_only,
                                      start="2005-06-01", end="2005-07-15")
    assert view.covered and "demand_south" not in {s.name for s in view.series}
    assert _start(session, valley["planner"], north_only, "2005-06-01", "2005-07-15").status == "queued"
    # The base scenario still needs it.
    assert "“demand_south”" in _refusal(session, valley["planner"], valley["base"], "2005-06-01", "2005-07-15")


def test_no_dates_with_different_spans_is_refused_with_where_to_choose(session, redis_url, valley):
    message = _refusal(session, valley["planner"], valley["base"], "", "")
    assert message.startswith("The timeseries “demand_south” covers 2005-01-01 to 2005-06-30, but with no dates "
                              "chosen, the run uses every time step of the model, 2005-01-01 to 2005-12-31.")
    assert message.endswith("Choose run dates where all series have data: inside 2005-01-01 – 2005-06-30, or "
                            "upload data so that every series covers the whole period.")
    assert "demand_north" not in message


def test_the_models_own_subset_is_the_period_when_no_dates_are_chosen(session, valley):
    model = session.get(EnergyModel, valley["model"])
    model.calliope_config = {**model.calliope_config, "init": {**model.calliope_config["init"],
                                                               "subset": {"timesteps": ["2005-02", "2005-03"]}}}
    session.add(model)
    session.commit()
    view = coverage.scenario_coverage(session=session, user_id=valley["planner"], scenario_id=valley["base"])
    assert view.covered and (view.period_start, view.period_end, view.period_source) == (
        "2005-02-01", "2005-03-31", "model")


def test_model_tech_and_link_level_series_are_counted(session, redis_url, valley):
    planner, model_id = valley["planner"], valley["model"]
    rows = timeseries.store_series(session=session, user_id=planner, model_id=model_id, source_filename="x.csv",
                                   series=[hourly("weights_jan", "2005-01-01", "2005-01-31"),
                                           hourly("line_feb", "2005-02-01", "2005-02-28"),
                                           hourly("gas_price_q1", "2005-01-01", "2005-03-31")])
    ids = {r.name: r.id for r in rows}
    gas = session.exec(select(Technology.id).where(Technology.model_id == model_id,
                                                   Technology.name == "gas_plant")).one()
    series_params.attach_tech_series(session=session, user_id=planner, tech_id=gas, name="cost_flow_out",
                                     series_id=ids["gas_price_q1"], cost_class="monetary")
    # No service attaches a series to a link or to a model-level parameter yet: the rows the importer writes.
    link = session.exec(select(Link).where(Link.model_id == model_id)).one()
    session.add(LinkParameter(link_id=link.id, name="flow_cap_max", timeseries_id=ids["line_feb"]))
    session.add(ModelParameter(model_id=model_id, name="objective_cost_weights", timeseries_id=ids["weights_jan"]))
    session.commit()

    view = coverage.scenario_coverage(session=session, user_id=planner, scenario_id=valley["base"],
                                      start="2005-02-01", end="2005-02-02")
    uncovered = {s.name: s.used_by for s in view.series if not s.covers}
    assert uncovered == {"weights_jan": ("the whole model: objective_cost_weights",)}
    assert {s.name: s.used_by for s in view.series}["line_feb"] == (f"link {link.name}: flow_cap_max",)
    assert {s.name: s.used_by for s in view.series}["gas_price_q1"] == ("gas_plant: cost_flow_out [monetary]",)

    message = _refusal(session, planner, valley["base"], "2005-03-30", "2005-04-01")
    for name in ("gas_price_q1", "line_feb", "weights_jan", "demand_north"):
        assert (f"“{name}”" in message) == (name != "demand_north"), name


def test_a_switched_off_link_does_not_need_its_series(session, valley):
    planner, model_id = valley["planner"], valley["model"]
    [row] = timeseries.store_series(session=session, user_id=planner, model_id=model_id, source_filename="l.csv",
                                    series=[hourly("line_feb", "2005-02-01", "2005-02-28")])
    link = session.exec(select(Link).where(Link.model_id == model_id)).one()
    session.add(LinkParameter(link_id=link.id, name="flow_cap_max", timeseries_id=row.id))
    no_line = scenarios.create_scenario(session=session, user_id=planner, model_id=model_id, name="no line").id
    scenarios.switch_rows(session=session, user_id=planner, scenario_id=no_line, kind="link", ids=[link.id],
                          active=False)
    session.commit()
    assert not coverage.scenario_coverage(session=session, user_id=planner, scenario_id=valley["base"],
                                          start="2005-03-01", end="2005-03-01").covered
    assert coverage.scenario_coverage(session=session, user_id=planner, scenario_id=no_line,
                                      start="2005-03-01", end="2005-03-01").covered


def test_a_gap_inside_the_period_is_named_with_its_times(session, valley):
    planner, model_id = valley["planner"], valley["model"]
    holey = hourly("holey", "2005-01-01", "2005-01-10")
    stamps = holey.timestamps
    keep = (stamps < np.datetime64("2005-01-05T06:00")) | (stamps > np.datetime64("2005-01-05T08:00"))
    [row] = timeseries.store_series(session=session, user_id=planner, model_id=model_id, source_filename="h.csv",
                                    series=[Clean("holey", "holey", holey.timestamps[keep], holey.values[keep])])
    session.add(ModelParameter(model_id=model_id, name="objective_cost_weights", timeseries_id=row.id))
    session.commit()
    view = coverage.scenario_coverage(session=session, user_id=planner, scenario_id=valley["base"],
                                      start="2005-01-04", end="2005-01-06")
    assert view.messages == ("The timeseries “holey” has no data from 2005-01-05 06:00 to 2005-01-05 09:00 (UTC), "
                             "inside the run period 2005-01-04 to 2005-01-06: choose dates that avoid that gap, "
                             "or upload the missing values.",)
    assert coverage.scenario_coverage(session=session, user_id=planner, scenario_id=valley["base"],
                                      start="2005-01-06", end="2005-01-10").covered


def test_a_refusal_names_at_most_five_series(session, valley):
    planner, model_id = valley["planner"], valley["model"]
    rows = timeseries.store_series(session=session, user_id=planner, model_id=model_id, source_filename="m.csv",
                                   series=[hourly(f"short_{i}", "2005-01-01", "2005-01-02") for i in range(7)])
    for i, row in enumerate(rows):
        session.add(ModelParameter(model_id=model_id, name=f"param_{i}", timeseries_id=row.id))
    session.commit()
    with pytest.raises(EngageError) as err:
        coverage.require_coverage(session=session, user_id=planner, scenario_id=valley["base"],
                                  start="2005-01-01", end="2005-01-03")
    assert err.value.message == (
        "The timeseries “short_0”, “short_1”, “short_2”, “short_3”, “short_4” and 2 more cover 2005-01-01 to "
        "2005-01-02, but the run period is 2005-01-01 to 2005-01-03: choose dates inside 2005-01-01 – 2005-01-02, "
        "or upload data for 2005-01-03 to 2005-01-03.")
    view = coverage.scenario_coverage(session=session, user_id=planner, scenario_id=valley["base"],
                                      start="2005-01-01", end="2005-01-03")
    assert all(f"“short_{i}”" in view.messages[0] for i in range(7))  # the page's list names them all

    # Series with other problems get messages of their own; past five names in all, they are counted.
    rows = timeseries.store_series(session=session, user_id=planner, model_id=model_id, source_filename="n.csv",
                                   series=[hourly(f"until_{i}", "2005-01-01", f"2005-01-{10 + i}") for i in range(6)])
    for i, row in enumerate(rows):
        session.add(ModelParameter(model_id=model_id, name=f"other_{i}", timeseries_id=row.id))
    session.commit()
    with pytest.raises(EngageError) as err:
        coverage.require_coverage(session=session, user_id=planner, scenario_id=valley["base"],
                                  start="2005-01-05", end="2005-01-20")
    assert err.value.message.count("The timeseries ") == 1 and "until_" not in err.value.message
    assert err.value.message.endswith("… and 6 more timeseries do not cover the run period either.")


def test_a_new_model_with_only_its_placeholder_time_steps_runs(session, redis_url):
    planner = User(email="new@example.org", password_hash="!")
    session.add(planner)
    session.commit()
    model_id = models.create_model(session=session, user_id=planner.id, name="Empty").id
    base = session.exec(select(Scenario.id).where(Scenario.model_id == model_id)).one()
    session.commit()
    view = coverage.scenario_coverage(session=session, user_id=planner.id, scenario_id=base)
    assert view.covered and (view.period_start, view.period_end, view.period_source) == (
        "2025-01-01", "2025-01-07", "data")
    assert [(s.name, s.used_by) for s in view.series] == [
        ("Time steps", ("the model's time steps (timestep_weights)",))]
    assert _start(session, planner.id, base, "2025-01-02", "2025-01-07").status == "queued"
    session.commit()
    with pytest.raises(EngageError, match="The model's timeseries cover 2025-01-01 to 2025-01-07; choose dates"):
        _start(session, planner.id, base, "2025-01-07", "2025-01-08")


def test_only_viewers_learn_about_coverage_and_dates_are_checked(session, valley):
    with pytest.raises(NotFound):
        coverage.scenario_coverage(session=session, user_id=valley["stranger"], scenario_id=valley["base"])
    with pytest.raises(NotFound, match="There is no scenario with id 999"):
        coverage.scenario_coverage(session=session, user_id=valley["planner"], scenario_id=999)
    with pytest.raises(EngageError, match="Give both a start and an end date"):
        coverage.scenario_coverage(session=session, user_id=valley["planner"], scenario_id=valley["base"],
                                   start="2005-01-01", end="")


def test_the_runs_page_compiles_with_the_coverage_section():
    from reflex.compiler.compiler import _compile_page, into_component

    from engage_reflex.pages.model.runs import model_runs_page

    code = _compile_page(into_component(model_runs_page), "/models/[model_id]/runs")
    assert 'id:"timeseries-coverage"' in code and '"aria-labelledby":"coverage-heading"' in code
    assert "coverage_figure" in code and "coverage_refusal" in code and "What this shows" in code
    assert '"aria-label":"Timeline of the scenario\'s timeseries and the run period"' in code


def test_run_dates_are_utc_days_whatever_the_models_zone(session):
    """The exporter hands the dates to Calliope, whose time axis is UTC: a New York model's run of
    2025-01-07 needs data until 2025-01-07 24:00 UTC, not until midnight in New York."""
    planner = User(email="ny@example.org", password_hash="!")
    session.add(planner)
    session.commit()
    model_id = models.create_model(session=session, user_id=planner.id, name="NY", time_zone="America/New_York").id
    base = session.exec(select(Scenario.id).where(Scenario.model_id == model_id)).one()
    session.commit()
    view = coverage.scenario_coverage(session=session, user_id=planner.id, scenario_id=base, start="2025-01-07",
                                      end="2025-01-07")
    assert view.covered and (view.time_zone, view.model_time_zone) == ("UTC", "America/New_York")
    assert view.series[0].first == "2025-01-01 00:00" and view.series[0].data_until == "2025-01-08 00:00"
    assert "Days are UTC days, as Calliope reads run dates (not the model's own zone, America/New_York)" in (
        coverage.period_note(view))
