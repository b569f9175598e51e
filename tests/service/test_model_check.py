"""The pre-run model check (services/model_check.py) and `engage check`, on SQLite and PostgreSQL.

The samples must come out clean; small broken models, imported through the real importer
(or broken afterwards by editing their rows), must each give the warning that names the
culprit.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session, select

from engage_reflex.db import session_scope
from engage_reflex.models import (
    EnergyModel,
    Link,
    Location,
    Scenario,
    Technology,
    TechnologyCarrier,
    TechParameter,
    User,
)
from engage_reflex.schemas import ModelCheckView
from engage_reflex.services import calliope_io, model_check, samples
from engage_reflex.services.errors import EngageError, NotFound

NATIONAL, URBAN = "National-scale example model", "Urban-scale example model"
MONETARY = {"index": "monetary", "dims": "costs"}

# A one-node model that makes sense: a gas plant meets a power demand for two days.
GOOD = {
    "config": {
        "init": {"name": "Small", "subset": {"timesteps": ["2005-01-01", "2005-01-02"]}},
        "build": {"ensure_feasibility": True},
    },
    "data_definitions": {"bigM": 1e6, "objective_cost_weights": {"data": 1, **MONETARY}},
    "data_tables": {"profiles": {"table": "profiles.csv", "rows": "timesteps",
                                 "columns": ["techs", "nodes", "inputs"]}},
    "techs": {
        "ccgt": {"name": "Gas plant", "base_tech": "supply", "carrier_out": "power", "flow_cap_max": 100,
                 "cost_flow_cap": {"data": 750, **MONETARY}, "cost_source_use": {"data": 0.02, **MONETARY}},
        "demand_power": {"name": "Power demand", "base_tech": "demand", "carrier_in": "power"},
    },
    "nodes": {"A": {"latitude": 50, "longitude": 0, "techs": {"ccgt": None, "demand_power": None}}},
}


def profiles(columns: dict[tuple[str, str, str], float], hours: int = 48,
             gaps: dict[tuple, int] | None = None) -> str:
    """A CSV data table (techs, nodes, inputs) with a flat value per column over `hours` hours."""
    stamps = pd.date_range("2005-01-01", periods=hours, freq="h")
    frame = pd.DataFrame({key: np.full(hours, value) for key, value in columns.items()},
                         index=pd.Index(stamps, name="timesteps"))
    for key, keep in (gaps or {}).items():
        frame.loc[frame.index[keep:], key] = np.nan
    frame.columns = pd.MultiIndex.from_tuples(list(columns), names=["techs", "nodes", "inputs"])
    return frame.to_csv()


DEMAND_A = {("demand_power", "A", "sink_use_equals"): 10.0}


def edit(base: dict, **changes) -> dict:
    """A deep copy of `base` with keys set, nested keys joined by "__" (None deletes)."""
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        keys = dotted.split("__")
        target = out
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return out


@pytest.fixture
def owner(session) -> int:
    user = User(email="planner@example.org", password_hash="!")
    session.add(user)
    session.flush()
    return user.id


@pytest.fixture
def make_model(session, owner, tmp_path):
    """Import a model written as YAML (JSON is YAML) plus CSV files; returns its id."""
    counter = iter(range(1000))

    def make(definition: dict, files: dict[str, str] | None = None) -> int:
        folder = tmp_path / f"model_{next(counter)}"
        folder.mkdir()
        for rel, text in {"profiles.csv": profiles(DEMAND_A), **(files or {})}.items():
            (folder / rel).write_text(text)
        (folder / "model.yaml").write_text(json.dumps(definition, indent=1))
        name = f"{definition['config']['init']['name']} {folder.name}"
        return calliope_io.import_model_directory(session=session, path=folder, owner_id=owner,
                                                  name=name).model_id

    return make


def check(session: Session, user_id: int, model_id: int, scenario: str = "base",
          start: str | None = None, end: str | None = None) -> ModelCheckView:
    scenario_id = session.exec(select(Scenario.id).where(
        Scenario.model_id == model_id, Scenario.name == scenario)).one()
    return model_check.check_scenario(session=session, user_id=user_id, scenario_id=scenario_id,
                                      subset_start=start, subset_end=end)


def codes(view: ModelCheckView) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for f in view.findings]


def only(view: ModelCheckView, code: str):
    found = [f for f in view.findings if f.code == code]
    assert len(found) == 1, codes(view)
    return found[0]


# ------------------------------------------------------------------------ samples


def test_every_sample_scenario_checks_clean(session):
    samples.seed_samples(session=session)
    owner = samples.ensure_samples_user(session=session)
    checked = []
    for model in session.exec(select(EnergyModel).order_by(EnergyModel.id)).all():
        scenarios = session.exec(select(Scenario).where(Scenario.model_id == model.id)).all()
        dates = {NATIONAL: ("2005-01-02", "2005-01-03"), URBAN: ("2005-07-01", "2005-07-03")}[model.name]
        for scenario in scenarios:
            own = check(session, owner, model.id, scenario.name)
            picked = check(session, owner, model.id, scenario.name, *dates)
            # With the form's dates (what the web app always sends) no sample scenario has a finding.
            assert picked.findings == [], (model.name, scenario.name, picked.findings)
            assert (picked.period_start, picked.period_end) == dates
            if model.name == NATIONAL and scenario.name in ("run2", "run4"):
                # Calliope's own sample asks for February 31st: Calliope refuses that period.
                finding = only(own, "bad_period")
                assert codes(own) == [("warning", "bad_period")]
                assert "“2005-02-31” is not a date" in finding.message
            else:
                assert own.findings == [], (model.name, scenario.name, own.findings)
            checked.append((model.name, scenario.name))
    # Every override the importer represents (at least these) was checked.
    expected = {(NATIONAL, name) for name in ("base", "profiling", "time_resampling", "spores", "operate",
                                               "check_feasibility", "reserve_margin", "run1", "run2", "run3",
                                               "run4", "capacity_factor")}
    expected |= {(URBAN, name) for name in ("base", "milp", "operate")}
    assert expected <= set(checked), expected - set(checked)


def test_check_is_fast_on_the_national_sample(session):
    samples.seed_samples(session=session)
    owner = samples.ensure_samples_user(session=session)
    model_id = session.exec(select(EnergyModel.id).where(EnergyModel.name == NATIONAL)).one()
    check(session, owner, model_id)  # the first one imports Calliope's AttrDict (once per process)
    times = []  # the best of five: the machine may be busy with other work
    for _ in range(5):
        started = time.perf_counter()
        check(session, owner, model_id, "base", "2005-01-01", "2005-01-31")
        times.append(time.perf_counter() - started)
    assert min(times) < 0.5, times


def test_check_needs_view_permission_and_both_dates(session, make_model, owner):
    model_id = make_model(GOOD)
    assert check(session, owner, model_id).findings == []
    stranger = User(email="stranger@example.org", password_hash="!")
    session.add(stranger)
    session.flush()
    with pytest.raises(NotFound, match="There is no model"):
        check(session, stranger.id, model_id)
    with pytest.raises(NotFound, match="There is no scenario"):
        model_check.check_scenario(session=session, user_id=owner, scenario_id=10**6)
    with pytest.raises(EngageError, match="both a start date and an end date"):
        check(session, owner, model_id, "base", "2005-01-01", "")
    with pytest.raises(EngageError, match="is not a date"):
        check(session, owner, model_id, "base", "2005-01-01", "someday")


# ------------------------------------------------------------------ broken models


def test_demand_whose_carrier_nothing_supplies(session, make_model, owner):
    definition = edit(GOOD, techs__demand_heat={"name": "Heat demand", "base_tech": "demand",
                                                "carrier_in": "heat"})
    definition["nodes"]["A"]["techs"]["demand_heat"] = None
    model_id = make_model(definition, {"profiles.csv": profiles(
        {**DEMAND_A, ("demand_heat", "A", "sink_use_equals"): 4.0})})
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "demand_without_supply")]
    finding = view.findings[0]
    assert finding.message == ("Nothing supplies “heat” for “Heat demand” (demand_heat) at A: "
                               "no technology produces “heat”.")
    assert "heat" in finding.hint


def test_supply_whose_carrier_matches_no_demand(session, make_model, owner):
    model_id = make_model(edit(GOOD, techs__ccgt__carrier_out="electricity"))
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "demand_without_supply"), ("info", "carrier_not_used")]
    warning, info = view.findings
    assert "Nothing supplies “power” for “Power demand” (demand_power) at A" in warning.message
    assert "“Gas plant” (ccgt) produces “electricity”, which nothing uses" in warning.message
    assert "carrier_out: power" in warning.hint
    assert info.message.startswith("“Gas plant” (ccgt) produces “electricity”, but no demand")


def test_no_costs_means_a_meaningless_objective(session, make_model, owner):
    # The importer refuses a header-only cost CSV; what it used to let through is a model
    # without cost values, and a cost table of zeros is still accepted: both solve to 0.
    no_costs = copy.deepcopy(GOOD)
    for key in ("cost_flow_cap", "cost_source_use"):
        del no_costs["techs"]["ccgt"][key]
    view = check(session, owner, make_model(no_costs))
    assert codes(view) == [("warning", "no_costs")]
    assert view.findings[0].message.startswith("No technology in this run has a cost, so the objective is 0")
    assert "only a header" in view.findings[0].hint

    no_costs["data_tables"]["costs"] = {"table": "costs.csv", "rows": "techs", "columns": "inputs",
                                        "add_dims": {"costs": "monetary"}}
    zeros = make_model(no_costs, {"costs.csv": "techs,cost_flow_cap,cost_source_use\nccgt,0,0\n"})
    assert codes(check(session, owner, zeros)) == [("warning", "no_costs")]
    priced = make_model(no_costs, {"costs.csv": "techs,cost_flow_cap,cost_source_use\nccgt,750,0.02\n"})
    assert check(session, owner, priced).findings == []

    # The cost rows a table gave, deleted after the import, as if the table had been empty.
    for row in session.exec(select(TechParameter).join(Technology, Technology.id == TechParameter.technology_id).where(
            Technology.model_id == priced, TechParameter.name.like("cost_%"))).all():
        session.delete(row)
    session.flush()
    assert codes(check(session, owner, priced)) == [("warning", "no_costs")]


def test_costs_the_objective_does_not_weigh(session, make_model, owner):
    model_id = make_model(edit(GOOD, data_definitions__objective_cost_weights={
        "data": [0, 1], "index": ["monetary", "emissions"], "dims": "costs"}))
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "costs_not_in_objective")]
    assert "(“monetary”)" in view.findings[0].message


def test_tech_at_no_node(session, make_model, owner):
    model_id = make_model(edit(GOOD, techs__wind={"name": "Wind farm", "base_tech": "supply",
                                                  "carrier_out": "power", "flow_cap_max": 50}))
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "tech_not_at_node")]
    assert view.findings[0].message == "“Wind farm” (wind) is not at any node, so the run leaves it out."


def test_scenario_that_switches_every_supply_off(session, make_model, owner):
    definition = edit(GOOD, techs__imports={"name": "Imports", "base_tech": "supply", "carrier_out": "power",
                                            "cost_source_use": {"data": 0.1, **MONETARY}})
    definition["nodes"]["A"]["techs"]["imports"] = None
    definition["overrides"] = {
        "no_gas": {"nodes": {"A": {"techs": {"ccgt": {"active": False}}}}},
        "blackout": {"nodes": {"A": {"techs": {"ccgt": {"active": False}, "imports": {"flow_cap_max": 0}}}}},
    }
    model_id = make_model(definition)
    assert check(session, owner, model_id).findings == []
    assert check(session, owner, model_id, "no_gas").findings == []  # imports still supply
    view = check(session, owner, model_id, "blackout")
    assert codes(view) == [("warning", "all_supply_off")]
    assert view.findings[0].message == (
        "Scenario “blackout” switches off every supply technology (ccgt at A and imports at A), "
        "so nothing can meet “Power demand” (demand_power).")


def test_tech_without_carrier(session, make_model, owner):
    model_id = make_model(GOOD)
    ccgt = session.exec(select(Technology.id).where(Technology.model_id == model_id,
                                                    Technology.name == "ccgt")).one()
    for row in session.exec(select(TechnologyCarrier).where(TechnologyCarrier.technology_id == ccgt)).all():
        session.delete(row)
    session.flush()
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "tech_without_carrier"), ("warning", "demand_without_supply")]
    assert view.findings[0].message == ("“Gas plant” (ccgt) is a supply technology with no output carrier "
                                        "(carrier_out), so it supplies nothing.")
    assert "“power”" in view.findings[0].hint
    assert [f.area for f in view.findings] == ["techs", "nodes"]  # each links to the page that fixes it


def test_link_between_one_location_and_itself(session, make_model, owner):
    model_id = make_model(edit(GOOD, nodes__B={"latitude": 51, "longitude": 1, "techs": {"demand_power": None}},
                               techs__hvac={"base_tech": "transmission", "carrier_in": "power",
                                            "carrier_out": "power", "link_from": "A", "link_to": "B",
                                            "flow_cap_max": 10}))
    assert ("warning", "link_same_location") not in codes(check(session, owner, model_id))
    link = session.exec(select(Link).where(Link.model_id == model_id)).one()
    link.to_location_id = link.from_location_id
    session.add(link)
    session.flush()
    finding = only(check(session, owner, model_id), "link_same_location")
    assert finding.message == "The link “hvac” starts and ends at “A”, so it carries nothing and Calliope refuses it."
    assert finding.area == "nodes"  # the page where links are fixed


def test_node_without_techs(session, make_model, owner):
    model_id = make_model(GOOD)
    session.add(Location(model_id=model_id, name="Z", latitude=51.0, longitude=1.0))
    session.flush()
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "node_without_techs")]
    assert view.findings[0].message.startswith("Node “Z” has no technologies and no transmission links")


def test_demand_at_a_node_no_supply_reaches(session, make_model, owner):
    definition = copy.deepcopy(GOOD)
    definition["nodes"]["B"] = {"latitude": 51, "longitude": 0, "techs": {"demand_power": None}}
    demand_b = {**DEMAND_A, ("demand_power", "B", "sink_use_equals"): 5.0}
    model_id = make_model(definition, {"profiles.csv": profiles(demand_b)})
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "demand_without_supply")]
    assert view.findings[0].message == ("“Power demand” (demand_power) at B needs “power”, but no “power” "
                                        "can reach it: it is available only at A.")

    definition["config"]["init"]["name"] = "Linked"
    definition["techs"]["a_to_b"] = {"base_tech": "transmission", "carrier_in": "power", "carrier_out": "power",
                                     "link_from": "A", "link_to": "B", "flow_cap_max": 50}
    model_id = make_model(definition, {"profiles.csv": profiles(demand_b)})
    assert check(session, owner, model_id).findings == []


def test_conversion_without_its_input_and_demand_without_values(session, make_model, owner):
    definition = edit(GOOD, techs__boiler={"name": "Boiler", "base_tech": "conversion", "carrier_in": "gas",
                                           "carrier_out": "heat", "flow_out_eff": 0.9},
                      techs__demand_heat={"name": "Heat demand", "base_tech": "demand", "carrier_in": "heat"})
    definition["nodes"]["A"]["techs"].update(boiler=None, demand_heat=None)
    model_id = make_model(definition)  # profiles for demand_power only
    view = check(session, owner, model_id)
    assert codes(view) == [("warning", "demand_without_supply"), ("warning", "demand_without_values"),
                           ("info", "carrier_not_produced")]
    unmet, no_values, info = view.findings
    assert unmet.message == ("Nothing supplies “heat” for “Heat demand” (demand_heat) at A: only "
                             "“Boiler” (boiler) can make “heat”, and none of them gets its input carrier.")
    assert no_values.message.startswith("“Heat demand” (demand_heat) at A has no demand values")
    assert info.message == ("“Boiler” (boiler) takes “gas”, but nothing produces “gas”, so it can never run.")


def test_time_series_and_run_period(session, make_model, owner):
    with_pv = edit(GOOD, techs__pv={"name": "Solar", "base_tech": "supply", "carrier_out": "power",
                                    "flow_cap_max": 10, "cost_flow_cap": {"data": 900, **MONETARY}})
    with_pv["nodes"]["A"]["techs"]["pv"] = None
    columns = {**DEMAND_A, ("pv", "A", "source_use_max"): 0.5}
    # The solar profile stops after the first day.
    model_id = make_model(with_pv, {"profiles.csv": profiles(columns, gaps={("pv", "A", "source_use_max"): 24})})

    assert check(session, owner, model_id, "base", "2005-01-01", "2005-01-01").findings == []
    view = check(session, owner, model_id, "base", "2005-01-01", "2005-01-02")
    assert codes(view) == [("warning", "timeseries_short")]
    assert view.findings[0].message == (
        "The time series source_use_max of pv at A covers only 2005-01-01 to 2005-01-01, but the run goes "
        "from 2005-01-01 to 2005-01-02: outside that span their values are missing.")

    view = check(session, owner, model_id, "base", "2004-12-31", "2005-01-01")
    assert codes(view) == [("warning", "period_beyond_data")]
    assert "so the run covers only 2005-01-01 to 2005-01-01" in view.findings[0].message

    view = check(session, owner, model_id, "base", "2006-01-01", "2006-01-05")
    assert codes(view) == [("warning", "period_outside_data")]
    assert view.findings[0].hint == "Choose dates between 2005-01-01 and 2005-01-02."


# ------------------------------------------------------------------------ CLI


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_engage_check_command(db_url, tmp_path):
    with session_scope(db_url) as session:
        samples.seed_samples(session=session)
    folder = tmp_path / "mismatch"
    folder.mkdir()
    (folder / "profiles.csv").write_text(profiles(DEMAND_A))
    (folder / "model.yaml").write_text(json.dumps(edit(GOOD, techs__ccgt__carrier_out="electricity")))
    with session_scope(db_url) as session:
        owner = samples.ensure_samples_user(session=session)
        calliope_io.import_model_directory(session=session, path=folder, owner_id=owner, name="Mismatch")

    engage = Path(sys.executable).with_name("engage")
    env = {**os.environ, "DATABASE_URL": db_url}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(engage), "check", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    done = run(NATIONAL, "base")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Checked scenario “base” of “{NATIONAL}”, 2005-01-01 to 2005-01-05: 0 warnings, 0 notes."]

    done = run("Mismatch", "base", "--start", "2005-01-01", "--end", "2005-01-02")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("warning: Nothing supplies “power” for “Power demand” (demand_power) at A")
    assert " Hint: " in lines[0]
    assert lines[1].startswith("info: “Gas plant” (ccgt) produces “electricity”")
    assert lines[2] == "Checked scenario “base” of “Mismatch”, 2005-01-01 to 2005-01-02: 1 warning, 1 note."

    assert run("Mismatch", "base", "--strict").returncode == 1
    assert run(NATIONAL, "base", "--strict").returncode == 0

    done = run("No such model", "base")
    assert done.returncode == 2 and "There is no model “No such model”" in done.stderr
    done = run(NATIONAL, "nope")
    assert done.returncode == 2 and "has no scenario “nope”" in done.stderr


# ------------------------------------------------------------------------ the run form


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_run_form_check_for_the_logged_in_user(db_url, tmp_path):
    from engage_reflex.services import users
    from engage_reflex.state.model.run_check import check_title, fetch_check

    with session_scope(db_url) as session:
        user = users.register(session=session, email="planner@example.org", password="a long password 42")
    with session_scope(db_url) as session:
        token = users.login(session=session, email="planner@example.org", password="a long password 42")
    folder = tmp_path / "mismatch"
    folder.mkdir()
    (folder / "profiles.csv").write_text(profiles(DEMAND_A))
    (folder / "model.yaml").write_text(json.dumps(edit(GOOD, techs__ccgt__carrier_out="electricity")))
    with session_scope(db_url) as session:
        model_id = calliope_io.import_model_directory(session=session, path=folder, owner_id=user.id).model_id
        scenario_id = session.exec(select(Scenario.id).where(Scenario.model_id == model_id)).one()

    view = fetch_check(token, scenario_id, "2005-01-01", "2005-01-02")
    assert check_title(view) == "Before you run: 1 warning and 1 note"
    assert (view.period_start, view.period_end) == ("2005-01-01", "2005-01-02")
    assert fetch_check("not a token", scenario_id, "", "") is None


def test_model_page_compiles_with_the_check_panel():
    from reflex.compiler.compiler import _compile_page, into_component

    from engage_reflex.pages.model.runs import model_runs_page

    code = _compile_page(into_component(model_runs_page), "/models/[model_id]/runs")
    assert 'id:"model-check"' in code and '"aria-live":"polite"' in code
    assert "check_title" in code and "findings" in code
    for control, label in [("run-scenario", "Scenario"), ("run-solver", "Solver"), ("run-start", "Start date"),
                           ("run-end", "End date (included)"), ("run-resample", "Time steps"),
                           ("run-cluster-days", "Representative days (optional)")]:
        assert f'htmlFor:"{control}"' in code, control
        assert f'"aria-label":"{label}"' in code, label
