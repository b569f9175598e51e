"""Every carrier × node filter of the results page, on real solves of both sample models.

Each sample is solved once per module (HiGHS, two days) through jobs.calliope_runner; each
test stores that solve's results the way the worker does (runs/<id>/results under the data
dir, the Run row pointing at it) and reads every filter combination through the services,
and draws the figures the page shows.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session

from engage_reflex.models import Carrier, EnergyModel, Run, RunStatus, Scenario, User
from engage_reflex.services import results
from engage_reflex.settings import get_settings

pytestmark = pytest.mark.slow

SPANS = {"national_scale": ("2005-01-01", "2005-01-02"), "urban_scale": ("2005-07-01", "2005-07-02")}


@dataclass
class SolvedSample:
    name: str
    results_dir: Path
    artefacts: dict[str, str]
    objective: float
    units: dict[str, str]


@dataclass
class ExampleDefinition:
    """A calliope example folder as calliope_runner reads it (what calliope_io exports looks alike)."""

    definition: dict
    dataframes: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def solved_samples(tmp_path_factory, calliope_examples_dir) -> dict[str, SolvedSample]:
    """Both sample models (the app's public samples are these calliope examples, imported
    losslessly) solved once through jobs.calliope_runner, as the worker does."""
    import calliope

    from jobs import calliope_runner

    root = tmp_path_factory.mktemp("solved_samples")
    solved = {}
    for name, span in SPANS.items():
        folder = root / name / "model"
        shutil.copytree(calliope_examples_dir / name, folder)
        definition = calliope.io.read_rich_yaml(folder / "model.yaml").as_dict()
        definition["config"]["init"]["subset"] = {"timesteps": list(span)}
        definition["config"]["build"]["backend"] = "highs"
        outcome = calliope_runner.run(ExampleDefinition(definition), root / name, solver="highs")
        assert outcome.ok, outcome.message
        carriers = pd.read_csv(outcome.results_dir / outcome.artefacts["flows"])["carrier"].unique()
        units = {str(c): "kW" for c in carriers}
        solved[name] = SolvedSample(name, outcome.results_dir, outcome.artefacts, outcome.objective, units)
    return solved


def _store_run(session: Session, sample: SolvedSample, user_id: int | None = None) -> tuple[int, int]:
    """A succeeded run whose results sit where solve_run puts them; returns (user id, run id)."""
    if user_id is None:
        user = User(email=f"planner-{sample.name}@example.org", password_hash="x")
        session.add(user)
        session.commit()
        user_id = user.id
    model = EnergyModel(name=sample.name, owner_id=user_id)
    session.add(model)
    session.commit()
    scenario = Scenario(model_id=model.id, name="base")
    session.add(scenario)
    session.add_all([Carrier(model_id=model.id, name=name, rate_unit=unit) for name, unit in sample.units.items()])
    session.commit()
    run = Run(model_id=model.id, scenario_id=scenario.id, user_id=user_id, status=RunStatus.queued)
    session.add(run)
    session.commit()
    target = get_settings().runs_dir / str(run.id) / "results"
    shutil.copytree(sample.results_dir, target)
    run.status, run.objective, run.termination = RunStatus.succeeded, sample.objective, "optimal"
    run.artefact_dir = str(target.resolve().relative_to(get_settings().data_dir.resolve()))
    run.artefacts = dict(sample.artefacts)
    session.add(run)
    session.commit()
    return user_id, run.id


def _balance(flows: pd.DataFrame) -> pd.Series:
    """Produced minus consumed per timestep."""
    signed = flows["value"].where(flows["direction"] == "out", -flows["value"])
    return signed.groupby(flows["timestep"]).sum()


@pytest.mark.parametrize("sample", ["national_scale", "urban_scale"])
def test_every_carrier_and_node_filter_shows_a_sensible_dispatch(session, solved_samples, sample):
    from engage_reflex.services import result_details
    from engage_reflex.state.result_drawing import ALL_NODES, Filters, draw_dispatch, draw_overview

    solved = solved_samples[sample]
    user_id, run_id = _store_run(session, solved)
    raw = pd.read_csv(solved.results_dir / solved.artefacts["flows"], keep_default_na=False)
    view = results.load_results(session=session, user_id=user_id, run_id=run_id)
    details = result_details.load_details(session=session, user_id=user_id, run_id=run_id)

    assert sorted(view.carriers) == sorted(raw["carrier"].unique())
    assert set(view.nodes) >= set(raw["node"])
    lines = set(pd.read_csv(solved.results_dir / solved.artefacts["techs"], keep_default_na=False)
                .query("base_tech == 'transmission'")["tech"])
    checked = []
    for carrier in view.carriers:
        for node in [ALL_NODES, *view.nodes]:
            at = "" if node == ALL_NODES else node
            dispatch = results.load_dispatch(session=session, user_id=user_id, run_id=run_id, carrier=carrier,
                                             node=at)
            flowed = raw[(raw["carrier"] == carrier) & ((raw["node"] == at) if at else True)]
            where = f"{carrier} at {at or 'all nodes'}"
            assert dispatch.carrier == carrier and dispatch.unit, where
            if flowed.empty:
                assert dispatch.flows.empty, where
                assert carrier in dispatch.note and at in dispatch.note, (where, dispatch.note)
            elif dispatch.flows.empty:
                # Only lines passing it on (a junction): they net to nothing, and the note says so.
                assert set(flowed["tech"]) <= lines, where
                assert _balance(flowed).abs().max() < 1e-6 * max(1.0, flowed["value"].max()), where
                assert "passed through" in dispatch.note and carrier in dispatch.note and at in dispatch.note, where
            else:
                flows = dispatch.flows
                assert not flows.empty and (flows["value"] >= 0).all(), where
                assert set(flows["direction"]) <= {"in", "out"}, where
                # Techs other than lines are shown as they ran, summed over the nodes shown.
                plain = flowed[~flowed["tech"].isin(lines)]
                shown = flows[flows["tech"].isin(set(plain["tech"]))]
                assert shown.groupby(["tech", "direction"])["value"].sum().to_dict() == pytest.approx(
                    plain.groupby(["tech", "direction"])["value"].sum().to_dict()), where
                # Calliope balances every carrier at every node and timestep: so does the chart
                # (line imports count as produced, exports and line losses as consumed).
                scale = max(1.0, flows["value"].max())
                assert _balance(flows).abs().max() < 1e-6 * scale, where
            chosen = Filters(carrier=carrier, node=node, cost_class="monetary")
            capacity_plot = draw_overview("capacity", view, details, chosen)
            dispatch_plot, note = draw_dispatch(view, dispatch, chosen)
            assert capacity_plot.layout.title.text and dispatch_plot.layout.title.text, where
            if dispatch.flows.empty:
                assert note == dispatch.note and not dispatch_plot.data, where
            else:
                assert len(dispatch_plot.data) >= 1, where
            checked.append(where)
    assert len(checked) == len(view.carriers) * (len(view.nodes) + 1)


def test_urban_scale_gas_has_no_lines_and_still_draws(session, solved_samples):
    """The fault planners met: picking "gas" on urban-scale results crashed the page."""
    solved = solved_samples["urban_scale"]
    user_id, run_id = _store_run(session, solved)
    dispatch = results.load_dispatch(session=session, user_id=user_id, run_id=run_id, carrier="gas")
    per_tech = dispatch.flows.groupby(["tech", "direction"])["value"].sum()
    assert per_tech[("supply_gas", "out")] > 0
    assert {"boiler", "chp"} <= {tech for tech, direction in per_tech.index if direction == "in"}
    assert _balance(dispatch.flows).abs().max() < 1e-6 * dispatch.flows["value"].max()


def test_what_the_results_page_reads_in_its_worker_thread(session, solved_samples):
    """The blocking part of the page's events (login, database, CSV files, figures)."""
    from engage_reflex.services import users
    from engage_reflex.state.result_drawing import FIGURES, Filters, read_and_draw

    planner = users.register(session=session, email="reader@example.org", password="a long passphrase 1")
    token = users.login(session=session, email="reader@example.org", password="a long passphrase 1")
    _, run_id = _store_run(session, solved_samples["urban_scale"], user_id=planner.id)

    first = read_and_draw(token, str(run_id), None, FIGURES)
    assert first.email == "reader@example.org" and not first.error
    assert set(first.figures) == set(FIGURES) and first.figures["dispatch"].data  # the main carrier, drawn
    assert first.view.carriers[0] in first.figures["dispatch"].layout.title.text
    gas = read_and_draw(token, str(run_id), Filters(carrier="gas", node="X2", stacked=False, cost_class="monetary"),
                        ("capacity", "dispatch"))
    assert set(gas.figures) == {"capacity", "dispatch"}
    assert gas.figures["capacity"].layout.barmode == "group" and gas.figures["dispatch"].data
    nothing = read_and_draw(token, str(run_id), Filters(carrier="gas", node="N1"), ("dispatch",))
    assert nothing.dispatch_note == "No gas was produced or consumed at N1 in this run; it flowed at X1, X2, X3."
    assert read_and_draw(token, "abc", None, ()).error == "“abc” is not a run number."
    assert "no run" in read_and_draw(token, str(run_id + 99), None, ()).error.lower()
    assert read_and_draw("not-a-token", str(run_id), None, ()).login_needed  # a login that ended
    # A visitor without a login: sent to log in for a private model's run, shown a public one's.
    assert read_and_draw("", str(run_id), None, ()).login_needed
    run = session.get(Run, run_id)
    session.get(EnergyModel, run.model_id).is_public = True
    session.commit()
    visitor = read_and_draw("", str(run_id), None, ("capacity",))
    assert not visitor.login_needed and not visitor.error and visitor.email == ""
    assert visitor.figures["capacity"].data and visitor.view.run.id == run_id
