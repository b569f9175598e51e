"""The runner on a tiny in-memory model (guide §5), the planner messages, and the alert rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from engage_reflex.models import Run, RunStatus
from jobs import alerts, calliope_runner, result_tables


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
    # The planner's log: the outcome first, CBC's key lines, calliope's INFO lines; the rest is in run.log.
    assert outcome.log.startswith("The solver found an optimal solution (objective 29.1")
    assert "CBC solver:" in outcome.log and "objective value" in outcome.log.lower()
    assert " DEBUG " not in outcome.log and "backend build starting" in outcome.log
    raw = (tmp_path / calliope_runner.RAW_LOG).read_text()
    assert " DEBUG " in raw and "CBC" in raw  # pyomo's solver output, kept in full

    results = outcome.results_dir
    written = [*calliope_runner.ARTEFACT_FILES.values(), *result_tables.TABLE_FILES.values()]
    assert sorted(p.name for p in results.iterdir()) == sorted(written)
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


# --- failures a planner can meet, reproduced with real Calliope and solvers -----------------

def _planner_log_is_clean(log: str, message: str) -> None:
    assert log.startswith(message)  # the summary first
    assert "Traceback" not in log and 'File "' not in log and " DEBUG " not in log


def _raw_log_has_the_traceback(workdir) -> str:
    raw = (workdir / calliope_runner.RAW_LOG).read_text()
    assert "Traceback (most recent call last)" in raw and " DEBUG " in raw
    return raw


def _solve_error(model: TinyDefinition, workdir, solver: str) -> calliope_runner.ModelSolveError:
    with pytest.raises(calliope_runner.ModelSolveError) as err:
        calliope_runner.run(model, workdir, solver=solver, time_limit_s=300)
    _planner_log_is_clean(err.value.log, err.value.message)
    _raw_log_has_the_traceback(workdir)
    return err.value


@pytest.mark.slow
def test_glpk_asked_to_check_feasibility_only_is_explained(tmp_path):
    """Was "IndexError: list index out of range" (pyomo's LP writer finds no objective)."""
    model = tiny_model()
    model.definition["config"]["build"]["objective"] = "check_feasibility"
    err = _solve_error(model, tmp_path, "glpk")
    assert err.message.startswith("GLPK cannot check feasibility only")
    assert "HiGHS" in err.message
    assert "IndexError: list index out of range" in err.log  # calliope's words, without the traceback


def _unbounded(model: TinyDefinition) -> TinyDefinition:
    """Revenue for exported PV and no limit to how much PV is built."""
    pv = model.definition["techs"]["pv"]
    pv["flow_cap_max"] = float("inf")
    pv["carrier_export"] = "power"
    pv["cost_flow_out"] = {"data": -1, "index": "monetary", "dims": "costs"}
    return model


@pytest.mark.slow
def test_an_unbounded_model_with_glpk_is_explained(tmp_path):
    """GLPK reports no solution in a way calliope 0.7 turns into an IndexError."""
    err = _solve_error(_unbounded(tiny_model()), tmp_path, "glpk")
    assert err.message.startswith("The model is unbounded")
    assert "GLPK solver:" in err.log and "UNBOUNDED" in err.log  # GLPK's own key line


@pytest.mark.slow
def test_an_unbounded_model_with_highs_fails_with_a_planner_message(tmp_path):
    outcome = calliope_runner.run(_unbounded(tiny_model()), tmp_path, solver="highs", time_limit_s=300)
    assert not outcome.ok and outcome.termination == "unbounded"
    assert outcome.message.startswith("The model is unbounded")
    _planner_log_is_clean(outcome.log, outcome.message)
    assert "HiGHS solver:" in outcome.log and "Model status" in outcome.log


@pytest.mark.slow
def test_a_data_table_with_a_dimension_calliope_does_not_know_is_explained(tmp_path):
    """Was a raw BackendError ("... indexed over dimensions not present in `foreach`")."""
    model = tiny_model()
    table = pd.DataFrame({"north": [0.9, 0.95]}, index=pd.Index(["pv", "battery"], name="techs"))
    table.columns.name = "regions"
    model.dataframes["eff_df"] = table
    model.definition["data_tables"]["eff"] = {"table": "eff_df", "rows": "techs", "columns": "regions",
                                              "add_dims": {"inputs": "flow_out_eff"}}
    err = _solve_error(model, tmp_path, "highs")
    assert err.message.startswith("A data table gives values over a dimension Calliope does not know")
    assert "“regions” (in flow_out_eff)" in err.message and "`rows:` and `columns:`" in err.message
    assert "BackendError" in err.log


def test_a_misnamed_time_dimension_is_explained(tmp_path):
    """`rows: timestep` (not `timesteps`): calliope fails with an AttributeError while reading."""
    model = tiny_model()
    model.definition["data_tables"]["ts"]["rows"] = "timestep"
    model.dataframes["ts_df"].index.name = "timestep"
    with pytest.raises(calliope_runner.ModelReadError) as err:
        calliope_runner.read_model(model, tmp_path / "model")
    assert "found no “timesteps” in the model's data" in err.value.message
    assert "`rows:` and `columns:`" in err.value.message
    _planner_log_is_clean(err.value.log, err.value.message)
    _raw_log_has_the_traceback(tmp_path)


@pytest.mark.slow
def test_infinite_values_in_a_timeseries_are_explained(tmp_path):
    model = tiny_model()
    model.dataframes["ts_df"].iloc[5, 1] = np.inf
    err = _solve_error(model, tmp_path, "highs")
    assert err.message.startswith("Calliope found problems in this model while building it:")
    assert "Cannot include infinite values in `source_use_equals`/`sink_use_equals`" in err.message


@pytest.mark.slow
def test_a_solver_that_is_not_installed_is_explained(tmp_path, monkeypatch):
    from pyomo.common import Executable

    monkeypatch.setenv("PATH", str(tmp_path / "no-solvers-here"))
    Executable.rehash()
    try:
        err = _solve_error(tiny_model(), tmp_path / "run", "cbc")
    finally:
        monkeypatch.undo()
        Executable.rehash()
    assert err.message.startswith("The CBC solver is not installed on the server")
    assert "coinor-cbc" in err.message and "HiGHS" in err.message


def test_unexpected_failures_keep_tracebacks_out_of_the_planner_log(tmp_path):
    try:
        {}["missing"]
    except KeyError as exc:
        log = calliope_runner.record_failure(tmp_path, "The run failed unexpectedly (KeyError: 'missing').", exc)
    _planner_log_is_clean(log, "The run failed unexpectedly (KeyError: 'missing').")
    assert "KeyError: 'missing'" in log
    assert "{}[\"missing\"]" in _raw_log_has_the_traceback(tmp_path) or "missing" in (
        tmp_path / calliope_runner.RAW_LOG).read_text()


OUT_OF_MEMORY_SCRIPT = """
import resource, sys
from pathlib import Path
import psutil
from tests.jobs.test_calliope_runner import tiny_model
from jobs import calliope_runner
workdir = Path(sys.argv[1])
model = calliope_runner.read_model(tiny_model(), workdir / "model")
# The address space it has now, plus 10 MB: building the problem needs more than that.
limit = psutil.Process().memory_info().vms + 10 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
try:
    calliope_runner.solve_model(model, workdir, solver="highs")
except calliope_runner.ModelSolveError as exc:
    print("MESSAGE:" + exc.message)
    print("LOG:" + exc.log.replace(chr(10), " | "))
"""


@pytest.mark.slow
def test_running_out_of_memory_is_explained(tmp_path):
    import subprocess
    import sys

    from tests.jobs.conftest import PROJECT_ROOT, worker_env

    done = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY_SCRIPT, str(tmp_path)], cwd=PROJECT_ROOT,
                          env=worker_env(), capture_output=True, text=True, timeout=300)
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines() if line.startswith(("MESSAGE:", "LOG:")))
    assert lines.get("MESSAGE") == calliope_runner.OUT_OF_MEMORY, done.stdout + done.stderr[-3000:]
    assert lines["LOG"].startswith(calliope_runner.OUT_OF_MEMORY) and "Traceback" not in lines["LOG"]


def test_a_time_limit_wrapped_by_calliope_is_still_a_time_limit():
    """Calliope wraps rq's timeout in its own BackendError while it adds constraints; the run must
    still say "time limit", not "could not build the optimisation problem"."""
    from rq.timeouts import JobTimeoutException

    from calliope.exceptions import BackendError

    try:
        try:
            raise JobTimeoutException("Task exceeded maximum timeout value (3 seconds)")
        except JobTimeoutException as inner:
            raise BackendError(f"Failed to add constraint `balance_transmission` to the HiGHS model: {inner}") from inner
    except BackendError as wrapped:
        assert calliope_runner.is_timeout(wrapped)
    assert not calliope_runner.is_timeout(BackendError("Failed to add constraint `x`: bad index"))
