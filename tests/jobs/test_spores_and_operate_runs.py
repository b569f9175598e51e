"""SPORES and operate runs through the runner: the national sample's own "spores" and "operate"
scenarios (imported as Engage scenarios) are solved by Calliope and written so the results page
reads them right - one capacity per node and technology, an objective, and words for SPORES."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import select

from engage_reflex.models import Scenario
from engage_reflex.services.calliope_io import export_scenario
from jobs import calliope_runner

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _scenario(session, model_id: int, name: str) -> Scenario:
    found = session.exec(select(Scenario).where(Scenario.model_id == model_id, Scenario.name == name)).first()
    assert found is not None, f"the national sample has no scenario {name!r}"
    return found


def test_a_spores_run_is_shown_through_its_cost_optimal_solution(session, national, tmp_path):
    model, _ = national
    scenario = _scenario(session, model.id, "spores")
    definition = export_scenario(session=session, scenario_id=scenario.id, subset=("2005-01-01", "2005-01-01"))
    outcome = calliope_runner.run(definition, tmp_path / "spores")
    assert outcome.ok, outcome.message
    assert outcome.objective is not None and outcome.objective > 0
    assert outcome.note.startswith("SPORES: 4 solutions (the cost-optimal one and 3 alternatives)")
    assert "SPORES: 4 solutions" in outcome.log
    capacity = pd.read_csv(outcome.results_dir / "capacity.csv")
    # One row per node, tech, carrier and variable: the solutions are not added up.
    assert not capacity.duplicated(["node", "tech", "carrier", "variable"]).any()
    import calliope

    solved = calliope.read_netcdf(outcome.results_dir / "model.nc")
    first = solved.results["flow_cap"].isel(spores=0).sum().item()
    ccgt = capacity[(capacity["variable"] == "flow_cap")]["value"].sum()
    assert ccgt == pytest.approx(first, rel=1e-9)
    assert solved.results["min_cost_optimisation"].isel(spores=0).item() == pytest.approx(outcome.objective)


def test_an_operate_run_has_an_objective_and_its_given_capacities(session, national, tmp_path):
    model, _ = national
    scenario = _scenario(session, model.id, "operate")
    definition = export_scenario(session=session, scenario_id=scenario.id, subset=("2005-01-01", "2005-01-02"))
    outcome = calliope_runner.run(definition, tmp_path / "operate")
    assert outcome.ok, outcome.message
    import calliope

    solved = calliope.read_netcdf(outcome.results_dir / "model.nc")
    per_step = solved.results["min_cost_optimisation"].to_series()
    windows = per_step.groupby((per_step.index - per_step.index[0]) // pd.Timedelta("12h")).first()
    assert len(windows) == 4 and outcome.objective == pytest.approx(windows.sum())
    capacity = pd.read_csv(outcome.results_dir / "capacity.csv", keep_default_na=False)
    ccgt = capacity[(capacity["tech"] == "ccgt") & (capacity["variable"] == "flow_cap")]
    assert list(ccgt["value"]) == [30000] and list(ccgt["carrier"]) == ["power"]
