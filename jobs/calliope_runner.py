"""Read, build and solve one Calliope model, and write its results. Knows Calliope, not the database.

The two jobs of a run use it in two steps:

* `read_model()` in the build job: it turns an exported definition into a Calliope model (this
  is where a bad definition fails); `save_inputs_netcdf()` writes that model's inputs for the
  solve job (into the run files store), `save_inputs()` also keeps it as a pickle in a local
  scratch folder (the same-host fast path below);
* `solve_model()` in the solve job: the model back (`load_inputs()` or `load_inputs_netcdf()`),
  build the backend, solve, write results.

`run()` does both in one call (tests, scripts).

Same-host fast path (a pickle): for national_scale (5 days) `calliope.read_netcdf` of the inputs
takes 0.85 s, re-reading the written definition 1.15 s, while unpickling the model read by the
build job takes 4 ms (pickling 4 ms, 200 KB). So the build job also pickles the model into
data_dir/scratch/runs/<id>, a folder on its own disk that is never part of the run files store;
the solve job uses it only when it runs on that same machine (the same code version wrote it
moments before). Anywhere else, or if the pickle will not load, it reads the store's
inputs.nc, which Calliope 0.7 builds and solves to the same objective (national_scale:
277048.48 both ways). A pickle is never written to or read from the store.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import pickle
import re
import shutil
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

LOGGER = logging.getLogger(__name__)

# phase ("read" | "build" | "solve" | "write"), percent 0-100, a sentence for the planner.
ProgressCallback = Callable[[str, int, str], None]

INPUTS_PICKLE = "inputs.pickle"  # only in the worker's local scratch folder, never in the store
# The read model's inputs, as the build job hands them to the solve job through the store.
INPUTS_NETCDF = "inputs.nc"
# HiGHS writes (and flushes) its log here line by line while it solves; the Log dialog's live view
# (services/run_logs.py live_log) reads it then, and the "highs" record of `_solver_lines` after.
HIGHS_LOG = "highs.log"
# The full log of a run (DEBUG, solver output, tracebacks), in the run's directory; the build
# and the solve job both append to it. Planners get the short log (Outcome.log / Run.log).
RAW_LOG = "run.log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Logical artefact name -> file name inside the results directory.
ARTEFACT_FILES = {
    "netcdf": "model.nc",
    "capacity": "capacity.csv",
    "flows": "flows.csv",
    "costs": "costs.csv",
    "techs": "techs.csv",
}
# flows.csv/techs.csv name what a tech exported "<tech> (export)", drawn as consumption.
EXPORT_SUFFIX = " (export)"
# Leave this much of the job's time budget for writing the failure after a HiGHS time limit,
# so the solver stops on its own before rq's alarm fires.
TIME_LIMIT_MARGIN_S = 2.0


class Definition(Protocol):
    """What calliope_io.export_scenario returns (ModelDefinition); anything alike works."""

    definition: dict
    dataframes: dict[str, pd.DataFrame]
    files: dict[str, str]


class ModelReadError(Exception):
    """The definition is not a valid Calliope model; `message` says why in plain words and
    `log` is the planner's log (summary first, INFO and above, no traceback)."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.message = message
        self.log = log


class ModelSolveError(ModelReadError):
    """Building or solving failed for a reason we can put in a planner's words."""


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
    note: str = ""  # what a planner should know about how the results are shown (e.g. SPORES)

    @property
    def ok(self) -> bool:
        return self.termination == "optimal"


def _no_progress(_phase: str, _percent: int, _message: str) -> None:
    pass


# --- logging -------------------------------------------------------------------------------

@dataclass
class CapturedLog:
    """What one step logged: `planner` holds INFO and above, `raw` everything (as the file)."""

    planner: io.StringIO = field(default_factory=io.StringIO)
    raw: io.StringIO = field(default_factory=io.StringIO)
    raw_path: Path | None = None

    def getvalue(self) -> str:  # the planner's lines
        return self.planner.getvalue()


_WARNINGS = logging.getLogger("calliope.warnings")


@contextlib.contextmanager
def capture_log(raw_path: Path | None = None) -> Iterator[CapturedLog]:
    """Collect calliope's log records and Python warnings (e.g. "non-optimal").

    INFO and above go to the planner's text; everything (DEBUG, pyomo's CBC/GLPK output, which
    calliope logs at DEBUG, guide 4.5) to the raw text and, appended, to `raw_path`. The records
    also reach the process's own logging (the worker's stdout, the operators' log) at the level
    that logging is set to.
    """
    captured = CapturedLog(raw_path=raw_path)
    formatter = logging.Formatter(LOG_FORMAT, "%H:%M:%S")
    handlers: list[logging.Handler] = []
    for stream, level in ((captured.planner, logging.INFO), (captured.raw, logging.DEBUG)):
        handler = logging.StreamHandler(stream)
        handler.setLevel(level)
        handlers.append(handler)
    if raw_path is not None:
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(raw_path, mode="a", encoding="utf-8")
        file_handler.setLevel(logging.DEBUG)
        handlers.append(file_handler)
    root = logging.getLogger("calliope")
    saved = root.level, root.propagate
    root.setLevel(logging.DEBUG)
    # DEBUG is on for the files only: the process's own logging (the worker's stdout) still gets
    # just the records its root logger's level asks for (INFO in the worker), not ~1,500 lines a run.
    root.propagate = False
    handlers.append(_ForwardToRoot())
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)

    def show(message, category, filename, lineno, file=None, line=None):
        quiet = issubclass(category, (DeprecationWarning, FutureWarning, PendingDeprecationWarning))
        _WARNINGS.log(logging.DEBUG if quiet else logging.WARNING, "%s: %s", category.__name__, message)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = show
            yield captured
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved[0])
        root.propagate = saved[1]


class _ForwardToRoot(logging.Handler):
    """Hands calliope's records on to the root logger's handlers at the root logger's level."""

    def emit(self, record: logging.LogRecord) -> None:
        top = logging.getLogger()
        if record.levelno >= top.getEffectiveLevel():
            top.handle(record)


def _log_traceback(captured: CapturedLog | None, exc: BaseException, raw_path: Path | None = None) -> None:
    """The traceback goes to the raw log (file) and the operators' log, never to the planner's."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    LOGGER.warning("run step failed: %s: %s", type(exc).__name__, exc, exc_info=exc)
    path = raw_path or (captured.raw_path if captured else None)
    if captured is not None:
        captured.raw.write(text)
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%H:%M:%S')} DEBUG traceback: {text}")


# Lines of solver output worth a planner's eye (status, objective, time), HiGHS, CBC and GLPK.
_SOLVER_KEY = re.compile(
    r"(model status|objective value|highs run time|^\s*status\b|result -|infeasib|unbounded|no primal|"
    r"optimal (lp|mip)? ?solution|integer optimal|time used|total time|enumerated nodes|"
    r"primal bound|dual bound|gap)", re.IGNORECASE)
_SOLVER_LINE_PREFIX = re.compile(r"^\d\d:\d\d:\d\d DEBUG calliope\.backend\.backend_model\.<solve>: ")


def solver_key_lines(raw: str, limit: int = 10) -> list[str]:
    """The solver's status lines from a raw log or HiGHS log, without duplicates."""
    found: list[str] = []
    for line in raw.splitlines():
        text = _SOLVER_LINE_PREFIX.sub("", line).strip()
        skip = ("Parameter(s)", "--", "Reading", "Writing", "Iteration")
        if not text or text.startswith(skip) or "traceback" in text:
            continue
        if re.match(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", text):
            continue  # another logger's record
        if _SOLVER_KEY.search(text) and text not in found:
            found.append(text)
    return found[-limit:]


def error_key_lines(exc: BaseException | None, limit: int = 6) -> list[str]:
    """Calliope's own words for an error: the exception's message lines (not its traceback)."""
    if exc is None:
        return []
    lines = [ln.rstrip() for ln in str(exc).strip().splitlines() if ln.strip()]
    name = type(exc).__name__
    if not lines:
        return [name]
    lines[0] = f"{name}: {lines[0]}"
    if len(lines) > limit:
        lines = lines[:limit] + [f"… {len(lines) - limit} more lines in the full log"]
    return lines


def planner_log(summary: str, info: str = "", *, error: BaseException | None = None,
                solver_lines: list[str] | None = None, solver: str = "") -> str:
    """The log a planner reads: what happened first, then Calliope's INFO (and above) lines."""
    parts = [summary.strip()]
    details = error_key_lines(error)
    if details:
        parts.append("Calliope's error:\n" + "\n".join(f"  {line}" for line in details))
    if solver_lines:
        label = f"{_solver_name(solver)} solver" if solver else "Solver"
        parts.append(f"{label}:\n" + "\n".join(f"  {line}" for line in solver_lines))
    if info.strip():
        parts.append("Calliope's log (information and warnings; the full log can be downloaded):\n"
                     + info.strip())
    return "\n\n".join(parts) + "\n"


def record_failure(run_directory: Path, message: str, exc: BaseException | None = None,
                   info: str = "") -> str:
    """For the jobs' own failure paths: the traceback into the run's raw log, and the planner's
    log (message first, Calliope's words for the error, no traceback) to store on the run."""
    if exc is not None:
        _log_traceback(None, exc, Path(run_directory) / RAW_LOG)
    return planner_log(message, info, error=exc if exc is not None and not is_timeout(exc) else None)


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


def read_model(model_def: Definition, model_dir: Path, raw_log: Path | None = None):
    """A calliope.Model from an exported definition, or ModelReadError with a readable reason.

    The full log goes to `raw_log` (default: RAW_LOG beside the model folder, the run's directory)."""
    import calliope

    raw_log = raw_log or Path(model_dir).parent / RAW_LOG
    write_files(model_def, model_dir)
    with capture_log(raw_log) as log:
        try:
            return calliope.read_dict(
                model_def.definition,
                data_table_dfs=dict(model_def.dataframes or {}),
                definition_path=model_dir,
            )
        except Exception as exc:  # calliope raises ModelError, pydantic ValidationError, ValueError, ...
            if is_timeout(exc):
                raise
            _log_traceback(log, exc)
            message = describe_read_error(exc)
            raise ModelReadError(message, planner_log(message, log.getvalue(), error=exc)) from exc


# Calliope's dimension names, as data tables must spell them.
KNOWN_DIMENSIONS = ("nodes", "techs", "carriers", "timesteps", "costs")


def describe_read_error(exc: BaseException) -> str:
    """Turn calliope/pydantic errors into a message a planner can act on."""
    try:
        from pydantic import ValidationError
    except ImportError:  # pragma: no cover - pydantic is a calliope dependency
        ValidationError = ()  # type: ignore[assignment]
    if isinstance(exc, MemoryError):
        return OUT_OF_MEMORY
    if isinstance(exc, ValidationError):
        problems = []
        for err in exc.errors()[:8]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "root")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        detail = "; ".join(problems)
    else:
        text = str(exc).strip()
        missing = re.search(r"'Dataset' object has no attribute '(\w+)'", text)
        if isinstance(exc, AttributeError) and missing:
            return (f"Calliope could not read this model: it found no “{missing[1]}” in the model's data. "
                    f"A data table probably names a dimension differently: the `rows:` and `columns:` of "
                    f"data tables must use Calliope's names ({', '.join(KNOWN_DIMENSIONS)}, and `inputs` "
                    "for the parameter names), spelled exactly so.")
        detail = text.splitlines()[-1] if text else type(exc).__name__
    return f"Calliope could not read this model: {detail}"


OUT_OF_MEMORY = (
    "The run needed more memory than the server could give it. Try a shorter date range or a coarser "
    "time resolution (e.g. 6h), or ask the administrator for a bigger server."
)
SOLVER_NAMES = {"highs": "HiGHS", "cbc": "CBC", "glpk": "GLPK"}
SOLVER_PACKAGES = {"cbc": "coinor-cbc", "glpk": "glpk-utils"}


def _solver_name(solver: str) -> str:
    return SOLVER_NAMES.get(solver, solver.upper())


def _frames(exc: BaseException) -> list[tuple[str, str]]:
    """(file name, function) of each frame the exception passed through."""
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append((Path(tb.tb_frame.f_code.co_filename).name, tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    return frames


def describe_solve_error(exc: BaseException, *, solver: str, objective: str = "",
                         unknown_dims: dict[str, list[str]] | None = None,
                         solver_lines: list[str] | None = None) -> str | None:
    """A planner's words for an exception from building or solving, or None if we have none.

    `objective` is the model's config.build.objective; `unknown_dims` maps dimension names
    Calliope does not know to the inputs indexed over them (from the model's inputs)."""
    name = _solver_name(solver)
    text = str(exc).strip()
    frames = _frames(exc)
    if isinstance(exc, MemoryError):
        return OUT_OF_MEMORY
    if type(exc).__name__ == "ApplicationError" and "No executable found" in text:
        package = SOLVER_PACKAGES.get(solver, solver)
        return (f"The {name} solver is not installed on the server that ran this model. Choose HiGHS, "
                f"which is always available, or ask the administrator to install {name} "
                f"(Debian package {package}).")
    if isinstance(exc, IndexError) and any(f == "lp_writer.py" for f, _ in frames):
        if objective == "check_feasibility":
            return (f"{name} cannot check feasibility only (this scenario's objective is “check_feasibility”, "
                    "which has no cost to minimise, and the CBC and GLPK interfaces refuse such a problem). "
                    "Choose the HiGHS solver for this scenario, or switch its objective back to "
                    "“min_cost_optimisation”.")
        return (f"{name} was given a problem without an objective to minimise (objective “{objective}”). "
                "Choose the HiGHS solver, or a cost objective such as “min_cost_optimisation”.")
    if isinstance(exc, IndexError) and any(fn == "_solve" and "backend" in f for f, fn in frames):
        said = " ".join(solver_lines or []).lower()
        if "unbounded" in said:  # GLPK: "LP HAS UNBOUNDED PRIMAL SOLUTION"
            return outcome_message("unbounded", None, None, {})
        if "no primal feasible" in said or "infeasible" in said:
            return outcome_message("infeasible", None, None, {})
        return (f"{name} stopped without a solution, and without saying why in a way Calliope understands: "
                "the model is most likely unbounded (a cost can fall without limit, e.g. a negative cost or "
                "a revenue with no capacity limit) or infeasible. The solver's words are in the log below. "
                "Run it with HiGHS for a clearer answer.")
    if type(exc).__name__ == "BackendError":
        dims = re.search(r"indexed over dimensions not present in `foreach`: \{(.*?)\}", text)
        if dims:
            names = [d.strip().strip("'\"") for d in dims[1].split(",")]
            where = "; ".join(f"“{d}” (in {', '.join((unknown_dims or {}).get(d, [])[:5]) or 'a data table'})"
                              for d in names)
            return (f"A data table gives values over a dimension Calliope does not know: {where}. Check the "
                    f"`rows:` and `columns:` of your data tables: Calliope's dimensions are "
                    f"{', '.join(KNOWN_DIMENSIONS)} (and `inputs` for the parameter names); any other name "
                    "must be dropped or turned into one of these.")
        if "HiGHS status kWarning" in text or "HiGHS status kError" in text:
            return ("HiGHS refused a number in this model while building it (typically a value that is almost "
                    "but not exactly zero, below 1e-12, or one that is huge). Round the model's data, e.g. "
                    "timeseries, to 6 decimals, or choose the CBC solver.")
        return f"Calliope could not build the optimisation problem: {_first_line(text)}"
    if type(exc).__name__ == "ModelError":
        problems = [ln.strip(" *") for ln in text.splitlines()[1:] if ln.strip()] or [_first_line(text)]
        if any("infinite values" in p for p in problems):
            problems.append("timeseries must hold numbers only (no inf; an empty cell means “no value”)")
        return "Calliope found problems in this model while building it: " + "; ".join(problems[:6]) + "."
    return None


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else "no details"


def _unknown_dimensions(model) -> dict[str, list[str]]:
    """Each dimension of the model's inputs -> the inputs indexed over it (for messages)."""
    try:
        inputs = model.inputs
        return {str(d): [str(v) for v in inputs.data_vars if d in inputs[v].dims] for d in inputs.dims}
    except Exception:  # only for the message
        return {}


def save_inputs(model, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load_inputs(path: Path):
    """The pickle save_inputs wrote on this machine (never a file from the store or a user)."""
    with open(path, "rb") as fh:
        return pickle.load(fh)


def save_inputs_netcdf(model, path: Path) -> None:
    """The read (not yet built) model's inputs as NetCDF: what the solve job reads anywhere."""
    tmp = path.with_name(path.name + ".partial")
    model.to_netcdf(tmp)
    os.replace(tmp, path)


def load_inputs_netcdf(path: Path):
    import calliope

    return calliope.read_netcdf(path)


# --- step 2: build, solve, write -----------------------------------------------------------

def is_timeout(exc: BaseException) -> bool:
    """rq's JobTimeoutException, also when Calliope wrapped it (e.g. a BackendError "Failed to add
    constraint ...: Task exceeded maximum timeout value"). Matched by name: no rq import here."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "JobTimeoutException" or "Task exceeded maximum timeout value" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False




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
    highs_log = workdir / HIGHS_LOG
    with capture_log(workdir / RAW_LOG) as log, _worded_errors(log, model, solver, highs_log, time_limit_s):
        on_progress("build", 35, "Building the optimisation problem")
        t = time.monotonic()
        model.build(backend="highs" if solver == "highs" else "pyomo")
        timings["build_s"] = time.monotonic() - t

        on_progress("solve", 65, f"Solving with {_solver_name(solver)}")
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
    message = outcome_message(termination, objective, time_limit_s, timings)
    summary = message
    note = ""
    if termination == "optimal":
        summary = f"The solver found an optimal solution (objective {objective:.7g})." \
            if objective is not None else "The solver found an optimal solution."
        note = spores_note(model)
        summary = f"{summary} {note}".strip()
    return Outcome(
        termination=termination,
        objective=objective,
        message=message,
        timings={k: round(v, 3) for k, v in timings.items()},
        log=planner_log(summary, log.getvalue(), solver_lines=_solver_lines(log, highs_log), solver=solver),
        artefacts=artefacts,
        results_dir=results_dir,
        note=note,
    )


def _solver_lines(log: CapturedLog, highs_log: Path) -> list[str]:
    """Key lines of the solver's output; the HiGHS log file is added to the raw log."""
    text = log.raw.getvalue()
    if highs_log.exists():
        highs = highs_log.read_text(encoding="utf-8", errors="replace")
        text += "\n" + highs
        if log.raw_path is not None:
            with contextlib.suppress(OSError), open(log.raw_path, "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%H:%M:%S')} DEBUG highs: --- HiGHS log ---\n{highs}\n")
        with contextlib.suppress(OSError):
            highs_log.unlink()  # kept in the raw log; a later solve of the run must not read it again
    return solver_key_lines(text)


@contextlib.contextmanager
def _worded_errors(log: CapturedLog, model, solver: str, highs_log: Path,
                   time_limit_s: float | None) -> Iterator[None]:
    """On an exception: stop solver subprocesses; keep the traceback in the raw log only; turn
    errors a planner can meet into ModelSolveError (message + planner's log); attach the
    planner's log to anything else as `calliope_log` (rq's timeout, unexpected errors)."""
    try:
        yield
    except MemoryError as exc:
        # Out of memory: say so with as little new memory as possible (the words are prepared).
        stop_solver_processes()
        try:
            _log_traceback(log, exc)
            text = planner_log(OUT_OF_MEMORY, log.getvalue(), error=exc)
        except MemoryError:
            text = OUT_OF_MEMORY
        raise ModelSolveError(OUT_OF_MEMORY, text) from None
    except BaseException as exc:
        stop_solver_processes()
        _log_traceback(log, exc)
        solver_lines = _solver_lines(log, highs_log)
        if is_timeout(exc) or not isinstance(exc, Exception):
            with contextlib.suppress(Exception):
                exc.calliope_log = planner_log(  # type: ignore[attr-defined]
                    time_limit_message(time_limit_s) if is_timeout(exc) else "The run was interrupted.",
                    log.getvalue(), solver_lines=solver_lines, solver=solver)
            raise
        objective = ""
        with contextlib.suppress(Exception):
            objective = str(model.config.build.objective)
        dims = _unknown_dimensions(model) if type(exc).__name__ == "BackendError" else {}
        message = describe_solve_error(exc, solver=solver, objective=objective, unknown_dims=dims,
                                       solver_lines=solver_lines)
        if message is None:
            summary = f"The run failed unexpectedly ({type(exc).__name__}: {_first_line(str(exc))})."
            with contextlib.suppress(Exception):
                exc.calliope_log = planner_log(  # type: ignore[attr-defined]
                    summary, log.getvalue(), error=exc, solver_lines=solver_lines, solver=solver)
            raise
        raise ModelSolveError(message, planner_log(message, log.getvalue(), error=exc,
                                                   solver_lines=solver_lines, solver=solver)) from exc


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
    """The solved objective. SPORES runs: the cost-optimal first solution (spore 0). Operate runs:
    the sum over the windows solved one after another (Calliope repeats each window's objective
    over the window's time steps)."""
    results = model.results
    names = ["min_cost_optimisation"] + [n for n in results.data_vars if results[n].ndim == 0]
    for name in names:
        if name not in results.data_vars:
            continue
        values = results[name]
        if "spores" in values.dims:
            values = values.isel(spores=0)
        if values.dims == ("timesteps",):
            value = _sum_over_windows(model, values)
        elif values.ndim == 0:
            value = float(values.values)
        else:
            continue
        if value is not None and math.isfinite(value):
            return value
    return None


def _sum_over_windows(model, values) -> float | None:
    try:
        window = pd.Timedelta(str(model.config.build.operate.window))
    except Exception:  # not an operate run: an objective over time steps is not one number
        return None
    series = values.to_series().dropna()
    if series.empty or window <= pd.Timedelta(0):
        return None
    times = pd.DatetimeIndex(series.index)
    return float(series.groupby((times - times[0]) // window).first().sum())


def spores_note(model) -> str:
    """What a SPORES run's page shows and where the other solutions are ("" for other runs)."""
    count = model.results.sizes.get("spores", 0)
    if count < 2:
        return ""
    return (f"SPORES: {count} solutions (the cost-optimal one and {count - 1} alternatives). The results page "
            "shows the cost-optimal one; every solution is in the NetCDF and the outputs zip (column spore).")


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
            "The model is unbounded: some cost can fall without limit. Check for negative costs or "
            f"revenues (e.g. from exports) without a capacity limit (termination: {termination})."
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
    model = _first_solution(model)
    capacity_table(model).to_csv(tmp / ARTEFACT_FILES["capacity"], index=False)
    flows_table(model).to_csv(tmp / ARTEFACT_FILES["flows"], index=False)
    costs_table(model).to_csv(tmp / ARTEFACT_FILES["costs"], index=False)
    techs_table(model).to_csv(tmp / ARTEFACT_FILES["techs"], index=False)
    from jobs import result_tables  # the newer figures' tables (storage, links, factors, map)
    result_tables.write_tables(model, tmp)
    shutil.rmtree(results_dir, ignore_errors=True)
    os.replace(tmp, results_dir)
    return results_dir


@dataclass
class _FirstSolution:
    """A SPORES model seen through its cost-optimal solution (spore 0), for the page's tables."""

    results: Any
    inputs: Any
    math: Any
    config: Any


def _first_solution(model):
    if "spores" not in model.results.dims:
        return model
    return _FirstSolution(results=model.results.isel(spores=0, drop=True), inputs=model.inputs,
                          math=getattr(model, "math", None), config=model.config)


def _tidy(da, rename: dict[str, str]) -> pd.DataFrame:
    df = da.to_series().dropna().reset_index()
    return df.rename(columns={**rename, da.name: "value"})


_DIMS = {"nodes": "node", "techs": "tech", "carriers": "carrier", "costs": "cost_class", "timesteps": "timestep"}


def capacity_table(model) -> pd.DataFrame:
    frames = []
    for variable in ("flow_cap", "storage_cap"):
        if variable in model.results.data_vars:
            df = _tidy(model.results[variable], _DIMS)
        elif variable in model.inputs.data_vars:  # operate mode: the capacities were given, not chosen
            df = _with_output_carrier(model, _tidy(model.inputs[variable], _DIMS))
        else:
            continue
        if "carrier" not in df.columns:  # storage_cap has no carrier dimension
            df["carrier"] = ""
        df["variable"] = variable
        frames.append(df[["node", "tech", "carrier", "variable", "value"]])
    if not frames:
        return pd.DataFrame(columns=["node", "tech", "carrier", "variable", "value"])
    # Zero capacities stay: "the optimiser built none" is an answer planners look for.
    return pd.concat(frames, ignore_index=True)


def _with_output_carrier(model, df: pd.DataFrame) -> pd.DataFrame:
    """Given capacities (no carrier dimension) under the carrier each tech puts out."""
    if "carrier" in df.columns or "carrier_out" not in model.inputs.data_vars or "tech" not in df.columns:
        return df
    out = model.inputs["carrier_out"].to_series().dropna()
    out = out[out.astype(bool)].reset_index().rename(columns=_DIMS)
    if "carrier" not in out.columns:
        return df
    first = out[["tech", "carrier"]].drop_duplicates("tech")
    return df.merge(first, on="tech", how="left").fillna({"carrier": ""})


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
    if "flow_export" in model.results.data_vars:
        # What a tech sold out of the system (e.g. PV to the grid): it leaves the node like a demand
        # does, so it is drawn as consumption by a "<tech> (export)" series of its own.
        df = _tidy(model.results["flow_export"], _DIMS)
        df["value"] = df["value"].abs()
        df = df[df["value"] > 0]
        df["tech"] = df["tech"] + EXPORT_SUFFIX
        df["direction"] = "in"
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
    if "flow_export" in model.results.data_vars:  # the "<tech> (export)" series of flows_table
        exported = model.results["flow_export"].fillna(0).sum([d for d in model.results["flow_export"].dims
                                                               if d != "techs"])
        sold = [str(t) for t, v in exported.to_series().items() if abs(v) > 0]
        extra = df[df["tech"].isin(sold)].assign(tech=lambda d: d["tech"] + EXPORT_SUFFIX,
                                                 name=lambda d: d["name"] + " (export)", base_tech="export")
        df = pd.concat([df, extra], ignore_index=True)
    return df
