"""Read, build and solve one Calliope model, and write its results. Knows Calliope, not the database.

The two jobs of a run use it in two steps:

* `read_model()` in the build job: it turns an exported definition into a Calliope model (this
  is where a bad definition fails) and `save_inputs()` keeps that model for the solve job;
* `solve_model()` in the solve job: `load_inputs()`, build the backend, solve, write results.

`run()` does both in one call (tests, scripts).

Why a pickle between the jobs: for national_scale (5 days) re-reading the written directory
takes 1.15 s and `calliope.read_netcdf` of the inputs 0.85 s, while unpickling the model read
by the build job takes 4 ms (pickling 4 ms, 200 KB). Both jobs run the same code version; if
the pickle cannot be loaded (e.g. after an upgrade between the two jobs), the solve job falls
back to re-reading the definition the build job wrote. The file is written by the build job
into the server's own run directory; it never comes from a user.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import pickle
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

LOGGER = logging.getLogger(__name__)

# phase ("read" | "build" | "solve" | "write"), percent 0-100, a sentence for the planner.
ProgressCallback = Callable[[str, int, str], None]

INPUTS_PICKLE = "inputs.pickle"
HIGHS_LOG = "highs.log"
# Logical artefact name -> file name inside the results directory.
ARTEFACT_FILES = {
    "netcdf": "model.nc",
    "capacity": "capacity.csv",
    "flows": "flows.csv",
    "costs": "costs.csv",
    "techs": "techs.csv",
}
# Leave this much of the job's time budget for writing the failure after a HiGHS time limit,
# so the solver stops on its own before rq's alarm fires.
TIME_LIMIT_MARGIN_S = 2.0


class Definition(Protocol):
    """What calliope_io.export_scenario returns (ModelDefinition); anything alike works."""

    definition: dict
    dataframes: dict[str, pd.DataFrame]
    files: dict[str, str]


class ModelReadError(Exception):
    """The definition is not a valid Calliope model; `message` says why in plain words."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.message = message
        self.log = log


@dataclass
class Outcome:
    termination: str
    objective: float | None
    message: str
    timings: dict[str, float] = field(default_factory=dict)
    log: str = ""
    # Logical name -> file name relative to `results_dir` (empty unless optimal).
    artefacts: dict[str, str] = field(default_factory=dict)
    results_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.termination == "optimal"


def _no_progress(_phase: str, _percent: int, _message: str) -> None:
    pass


# --- logging -------------------------------------------------------------------------------

@contextlib.contextmanager
def capture_log(debug_solver: bool = False) -> Iterator[io.StringIO]:
    """Collect calliope's log records and Python warnings (e.g. "non-optimal") as text."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("calliope")
    # pyomo's CBC/GLPK output is logged line by line at DEBUG on calliope.backend.* (guide 4.5).
    backend = logging.getLogger("calliope.backend")
    saved = (root.level, backend.level)
    root.setLevel(logging.INFO)
    backend.setLevel(logging.DEBUG if debug_solver else logging.INFO)
    handler.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield buffer
            finally:
                for w in caught:
                    if issubclass(w.category, (DeprecationWarning, FutureWarning)):
                        continue
                    buffer.write(f"WARNING {w.category.__name__}: {w.message}\n")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        backend.setLevel(saved[1])


# --- step 1: read -------------------------------------------------------------------------

def write_files(model_def: Definition, model_dir: Path) -> Path:
    """Write the definition's extra files (custom math, ...) where read_dict resolves them."""
    model_dir.mkdir(parents=True, exist_ok=True)
    for rel, text in (model_def.files or {}).items():
        target = (model_dir / rel).resolve()
        if model_dir.resolve() not in target.parents:
            raise ModelReadError(f"The model file path “{rel}” points outside the model folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return model_dir


def read_model(model_def: Definition, model_dir: Path):
    """A calliope.Model from an exported definition, or ModelReadError with a readable reason."""
    import calliope

    write_files(model_def, model_dir)
    with capture_log() as log:
        try:
            return calliope.read_dict(
                model_def.definition,
                data_table_dfs=dict(model_def.dataframes or {}),
                definition_path=model_dir,
            )
        except Exception as exc:  # calliope raises ModelError, pydantic ValidationError, ValueError, ...
            if _is_timeout(exc):
                raise
            raise ModelReadError(describe_read_error(exc), log.getvalue()) from exc


def describe_read_error(exc: BaseException) -> str:
    """Turn calliope/pydantic errors into a message a planner can act on."""
    try:
        from pydantic import ValidationError
    except ImportError:  # pragma: no cover - pydantic is a calliope dependency
        ValidationError = ()  # type: ignore[assignment]
    if isinstance(exc, ValidationError):
        problems = []
        for err in exc.errors()[:8]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "root")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        detail = "; ".join(problems)
    else:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return f"Calliope could not read this model: {detail}"


def save_inputs(model, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load_inputs(path: Path):
    with open(path, "rb") as fh:
        return pickle.load(fh)


# --- step 2: build, solve, write -----------------------------------------------------------

def _is_timeout(exc: BaseException) -> bool:
    # rq's JobTimeoutException; matched by name so this module does not need rq.
    return type(exc).__name__ == "JobTimeoutException"


def solve_model(
    model,
    workdir: Path,
    *,
    solver: str = "highs",
    time_limit_s: float | None = None,
    on_progress: ProgressCallback = _no_progress,
) -> Outcome:
    """Build and solve a read model; on `optimal` write the artefacts into workdir/results.

    `time_limit_s` is the run's whole budget (the rq job timeout): HiGHS gets what is left of
    it after the build, so it stops cleanly with "time limit reached" before rq's alarm (which
    HiGHS would only notice after its C solve returns, guide 4.6). Not used: highspy's
    HandleKeyboardInterrupt, which lets the alarm through on time but made the solve 15-18 %
    slower (a Python callback per iteration); a cancel kills the work horse anyway. CBC and
    GLPK time limits are unsafe in calliope 0.7 (guide 4.6): there the rq job timeout is the
    limit, and CBC, a subprocess, gets the alarm on time.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    timings: dict[str, float] = {}
    solver = str(getattr(solver, "value", solver))
    with capture_log(debug_solver=solver != "highs") as log, _log_on_error(log):
        on_progress("build", 35, "Building the optimisation problem")
        t = time.monotonic()
        model.build(backend="highs" if solver == "highs" else "pyomo")
        timings["build_s"] = time.monotonic() - t

        on_progress("solve", 65, f"Solving with {solver.upper() if solver != 'highs' else 'HiGHS'}")
        t = time.monotonic()
        if solver == "highs":
            options: dict[str, Any] = {"log_to_console": False}
            if time_limit_s is not None:
                left = time_limit_s - (time.monotonic() - started) - TIME_LIMIT_MARGIN_S
                options["time_limit"] = float(max(left, 0.5))
            model.solve(solver_options=options, save_logs=str(workdir))
        else:
            model.solve(solver=solver)
        timings["solve_s"] = time.monotonic() - t
        termination = str(model.runtime.termination_condition or "unknown")

        objective = None
        artefacts: dict[str, str] = {}
        results_dir = None
        if termination == "optimal":
            objective = _objective(model)
            on_progress("write", 90, "Saving results")
            t = time.monotonic()
            results_dir = write_results(model, workdir / "results")
            artefacts = dict(ARTEFACT_FILES)
            timings["write_s"] = time.monotonic() - t
    text = log.getvalue()
    highs_log = workdir / HIGHS_LOG
    if highs_log.exists():
        text += "\n--- HiGHS log ---\n" + highs_log.read_text(encoding="utf-8", errors="replace")
    return Outcome(
        termination=termination,
        objective=objective,
        message=outcome_message(termination, objective, time_limit_s, timings),
        timings={k: round(v, 3) for k, v in timings.items()},
        log=text,
        artefacts=artefacts,
        results_dir=results_dir,
    )


@contextlib.contextmanager
def _log_on_error(log: io.StringIO) -> Iterator[None]:
    """On an exception (e.g. rq's timeout): stop solver subprocesses, and attach what calliope
    logged so far to the exception as `calliope_log`."""
    try:
        yield
    except BaseException as exc:
        stop_solver_processes()
        with contextlib.suppress(Exception):
            exc.calliope_log = log.getvalue()  # type: ignore[attr-defined]
        raise


def stop_solver_processes() -> None:
    """Kill the CBC/GLPK processes pyomo started: interrupted, pyomo leaves them running."""
    try:
        import psutil

        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    except Exception:  # best effort: the work horse ends after the job anyway
        LOGGER.warning("could not stop solver processes", exc_info=True)


def run(
    model_def: Definition,
    workdir: Path,
    *,
    solver: str = "highs",
    time_limit_s: float | None = None,
    on_progress: ProgressCallback = _no_progress,
) -> Outcome:
    """Read, build, solve and write in one go (what the two jobs do, in one process)."""
    on_progress("read", 10, "Reading the model")
    t = time.monotonic()
    model = read_model(model_def, workdir / "model")
    read_s = time.monotonic() - t
    budget = None if time_limit_s is None else time_limit_s - read_s
    outcome = solve_model(model, workdir, solver=solver, time_limit_s=budget, on_progress=on_progress)
    outcome.timings = {"read_s": round(read_s, 3), **outcome.timings}
    return outcome


def _objective(model) -> float | None:
    results = model.results
    names = ["min_cost_optimisation"] + [n for n in results.data_vars if results[n].ndim == 0]
    for name in names:
        if name in results.data_vars and results[name].ndim == 0:
            value = float(results[name].values)
            if math.isfinite(value):
                return value
    return None


def outcome_message(termination: str, objective: float | None, time_limit_s: float | None,
                    timings: dict[str, float]) -> str:
    term = termination.lower()
    if term == "optimal":
        total = sum(timings.get(k, 0.0) for k in ("read_s", "build_s", "solve_s", "write_s"))
        return f"Solved in {total:.1f} s (objective {objective:.6g})." if objective is not None else "Solved."
    if "infeasible" in term:
        return (
            "The model is infeasible: no dispatch can meet demand with the capacities and constraints "
            "given. Check that demand is not larger than what the supply technologies can deliver "
            "(flow_cap_max, source_use_max / resource availability, storage and transmission limits), "
            "that every demand node is connected to supply, and the units of uploaded timeseries. "
            "To see where demand cannot be met, switch on `ensure_feasibility` in the scenario "
            "settings: the run then reports unmet demand instead of failing."
        )
    if "time limit" in term or "timelimit" in term.replace(" ", "") or term == "maxtimelimit":
        return time_limit_message(time_limit_s)
    if "interrupt" in term:
        return "The run was stopped before the solver finished."
    if "unbounded" in term:
        return (
            "The model is unbounded: some cost can fall without limit. Check for negative costs "
            f"without a capacity limit (termination: {termination})."
        )
    return f"The solver stopped without an optimal solution (termination: {termination})."


def time_limit_message(limit_s: float | None) -> str:
    limit = f" of {int(round(limit_s))} seconds" if limit_s else ""
    return (
        f"The run exceeded its time limit{limit}. Try a shorter date range, a coarser resolution "
        "(e.g. 6h), or the CBC solver for long hourly runs."
    )


# --- result tables -------------------------------------------------------------------------

def write_results(model, results_dir: Path) -> Path:
    """model.nc plus small tidy CSVs, written to a temporary folder and renamed into place,
    so a crash never leaves half a results folder behind."""
    tmp = results_dir.with_name(results_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.to_netcdf(tmp / ARTEFACT_FILES["netcdf"])
    capacity_table(model).to_csv(tmp / ARTEFACT_FILES["capacity"], index=False)
    flows_table(model).to_csv(tmp / ARTEFACT_FILES["flows"], index=False)
    costs_table(model).to_csv(tmp / ARTEFACT_FILES["costs"], index=False)
    techs_table(model).to_csv(tmp / ARTEFACT_FILES["techs"], index=False)
    shutil.rmtree(results_dir, ignore_errors=True)
    os.replace(tmp, results_dir)
    return results_dir


def _tidy(da, rename: dict[str, str]) -> pd.DataFrame:
    df = da.to_series().dropna().reset_index()
    return df.rename(columns={**rename, da.name: "value"})


_DIMS = {"nodes": "node", "techs": "tech", "carriers": "carrier", "costs": "cost_class", "timesteps": "timestep"}


def capacity_table(model) -> pd.DataFrame:
    frames = []
    for variable in ("flow_cap", "storage_cap"):
        if variable not in model.results.data_vars:
            continue
        df = _tidy(model.results[variable], _DIMS)
        if "carrier" not in df.columns:  # storage_cap has no carrier dimension
            df["carrier"] = ""
        df["variable"] = variable
        frames.append(df[["node", "tech", "carrier", "variable", "value"]])
    if not frames:
        return pd.DataFrame(columns=["node", "tech", "carrier", "variable", "value"])
    # Zero capacities stay: "the optimiser built none" is an answer planners look for.
    return pd.concat(frames, ignore_index=True)


def flows_table(model) -> pd.DataFrame:
    frames = []
    for variable, direction in (("flow_out", "out"), ("flow_in", "in")):
        if variable not in model.results.data_vars:
            continue
        df = _tidy(model.results[variable], _DIMS)
        df["value"] = df["value"].abs()  # flow_in/out are non-negative; strip -0.0 and 1e-12 noise signs
        df = df[df["value"] > 0]
        df["direction"] = direction
        frames.append(df[["timestep", "node", "tech", "carrier", "direction", "value"]])
    if not frames:
        return pd.DataFrame(columns=["timestep", "node", "tech", "carrier", "direction", "value"])
    return pd.concat(frames, ignore_index=True).sort_values(["timestep", "node", "tech", "direction"])


def costs_table(model) -> pd.DataFrame:
    if "cost" not in model.results.data_vars:
        return pd.DataFrame(columns=["node", "tech", "cost_class", "value"])
    return _tidy(model.results["cost"], _DIMS)[["node", "tech", "cost_class", "value"]]


def techs_table(model) -> pd.DataFrame:
    inputs = model.inputs
    techs = [str(t) for t in inputs.coords["techs"].values]

    def column(name: str) -> list[str]:
        if name not in inputs.data_vars:
            return [""] * len(techs)
        series = inputs[name].to_series() if inputs[name].dims == ("techs",) else None
        if series is None:
            return [""] * len(techs)
        return ["" if pd.isna(series.get(t)) else str(series.get(t)) for t in techs]

    df = pd.DataFrame({"tech": techs, "name": column("name"), "color": column("color"),
                       "base_tech": column("base_tech")})
    df.loc[df["name"] == "", "name"] = df["tech"]
    return df
