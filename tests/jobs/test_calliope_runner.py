"""The runner on a tiny in-memory model (guide §5), the planner messages, and the alert rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from engage_reflex.models import Run, RunStatus
from jobs import alerts, calliope_runner


@dataclass
class TinyDefinition:
    definition: dict
    dataframes: dict[str, pd.DataFrame]
    files: dict[str, str] = field(default_factory=dict)


def tiny_model(pv_cap_max: float = 100) -> TinyDefinition:
    ts = pd.date_range("2005-01-01", periods=48, freq="h")
    h = ts.hour.to_numpy()
    df = pd.DataFrame(
        {("pv", "A", "source_use_max"): np.clip(np.sin((h - 6) / 12 * np.pi), 0, None),
         ("demand_power", "A", "sink_use_equals"): 5 + 2 * np.cos((h - 19) / 24 * 2 * np.pi),
         ("demand_power", "B", "sink_use_equals"): 3 + 1 * np.cos((h - 19) / 24 * 2 * np.pi)},
        index=pd.Index(ts, name="timesteps")).round(6)
    df.columns.names = ["techs", "nodes", "inputs"]

    def cost(v):
        return {"data": v, "index": "monetary", "dims": "costs"}

    definition = {
        "config": {"init": {"name": "tiny"}, "build": {"ensure_feasibility": False}},
        "data_definitions": {"cost_interest_rate": cost(0.05), "objective_cost_weights": cost(1)},
        "data_tables": {"ts": {"table": "ts_df", "rows": "timesteps", "columns": ["techs", "nodes", "inputs"]}},
        "techs": {
            "pv": {"base_tech": "supply", "carrier_out": "power", "source_unit": "per_cap", "name": "Solar PV",
                   "color": "#F9D71C", "flow_cap_max": pv_cap_max, "lifetime": 25, "cost_flow_cap": cost(800)},
            "battery": {"base_tech": "storage", "carrier_in": "power", "carrier_out": "power",
                        "flow_cap_max": 50, "storage_cap_max": 500, "flow_in_eff": 0.95, "flow_out_eff": 0.95,
                        "lifetime": 15, "cost_storage_cap": cost(300), "cost_flow_cap": cost(100)},
            "demand_power": {"base_tech": "demand", "carrier_in": "power"},
            "a_to_b": {"base_tech": "transmission", "link_from": "A", "link_to": "B",
                       "carrier_in": "power", "carrier_out": "power", "flow_out_eff": 0.98,
                       "flow_cap_max": 50, "lifetime": 40, "cost_flow_cap": cost(50)},
        },
        "nodes": {"A": {"techs": {"pv": None, "demand_power": None}},
                  "B": {"techs": {"battery": None, "demand_power": None}}},
    }
    return TinyDefinition(definition=definition, dataframes={"ts_df": df})


@pytest.mark.slow
def test_tiny_model_with_cbc_writes_tidy_tables(tmp_path):
    phases = []
    outcome = calliope_runner.run(tiny_model(), tmp_path, solver="cbc", time_limit_s=300,
                                  on_progress=lambda phase, pct, msg: phases.append((phase, pct)))
    assert outcome.ok and outcome.objective == pytest.approx(29.1022, rel=1e-4)
    assert [p for p, _ in phases] == ["read", "build", "solve", "write"]
    assert set(outcome.timings) == {"read_s", "build_s", "solve_s", "write_s"}
    assert "Coin-or" in outcome.log or "CBC" in outcome.log  # pyomo's solver output was captured

    results = outcome.results_dir
    assert sorted(p.name for p in results.iterdir()) == sorted(calliope_runner.ARTEFACT_FILES.values())
    capacity = pd.read_csv(results / "capacity.csv", keep_default_na=False)
    pv = capacity.query("tech == 'pv' and variable == 'flow_cap'")
    assert pv["node"].tolist() == ["A"] and pv["value"].iloc[0] == pytest.approx(27.54, rel=1e-3)
    storage = capacity.query("variable == 'storage_cap'")
    assert storage[["node", "tech", "carrier"]].values.tolist() == [["B", "battery", ""]]
    # The link is a tech of its own, at both of its ends.
    assert sorted(capacity.query("tech == 'a_to_b'")["node"]) == ["A", "B"]
    flows = pd.read_csv(results / "flows.csv")
    assert (flows["value"] > 0).all() and len(flows["timestep"].unique()) == 48
    assert set(flows.query("tech == 'demand_power'")["direction"]) == {"in"}
    costs = pd.read_csv(results / "costs.csv")
    assert costs["value"].sum() == pytest.approx(outcome.objective, rel=1e-6)
    techs = pd.read_csv(results / "techs.csv", keep_default_na=False).set_index("tech")
    assert techs.loc["pv", ["name", "color", "base_tech"]].tolist() == ["Solar PV", "#F9D71C", "supply"]
    assert techs.loc["a_to_b", "name"] == "a_to_b" and techs.loc["a_to_b", "base_tech"] == "transmission"


def test_a_bad_definition_is_explained(tmp_path):
    model = tiny_model()
    model.definition["techs"]["pv"]["base_tech"] = "solar"
    with pytest.raises(calliope_runner.ModelReadError) as err:
        calliope_runner.read_model(model, tmp_path)
    assert err.value.message.startswith("Calliope could not read this model:")
    assert "base_tech" in err.value.message


def test_files_outside_the_model_folder_are_refused(tmp_path):
    model = tiny_model()
    model.files = {"../evil.yaml": "x: 1"}
    with pytest.raises(calliope_runner.ModelReadError, match="outside the model folder"):
        calliope_runner.write_files(model, tmp_path / "model")


@pytest.mark.parametrize(
    "termination, expected",
    [
        ("infeasible", "The model is infeasible: no dispatch can meet demand"),
        ("time limit reached", "The run exceeded its time limit of 60 seconds"),
        ("maxTimeLimit", "The run exceeded its time limit of 60 seconds"),
        ("unbounded", "The model is unbounded"),
        ("other", "The solver stopped without an optimal solution (termination: other)."),
    ],
)
def test_non_optimal_terminations_get_planner_messages(termination, expected):
    assert calliope_runner.outcome_message(termination, None, 60, {}).startswith(expected)


def test_alerts_for_failed_and_long_runs_only():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    failed = Run(id=1, model_id=1, scenario_id=1, status=RunStatus.failed, message="The model is infeasible",
                 started_at=start, finished_at=start + timedelta(seconds=5))
    quick = Run(id=2, model_id=1, scenario_id=1, status=RunStatus.succeeded, started_at=start,
                finished_at=start + timedelta(seconds=5))
    slow = Run(id=3, model_id=1, scenario_id=1, status=RunStatus.succeeded, started_at=start,
               finished_at=start + timedelta(minutes=20))
    alert = alerts.alert_for(failed, model_name="Valley", email="a@b.org", long_run_seconds=600)
    assert alert.to == "a@b.org" and alert.subject == "Run 1 of “Valley” failed" and "infeasible" in alert.body
    assert alerts.alert_for(quick, model_name="Valley", email="a@b.org", long_run_seconds=600) is None
    assert "after 20 minutes" in alerts.alert_for(slow, model_name="V", email="a@b.org", long_run_seconds=600).subject
    assert alerts.alert_for(failed, model_name="Valley", email="", long_run_seconds=600) is None
