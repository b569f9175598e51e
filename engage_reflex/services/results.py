"""Read the tidy result tables a succeeded run left behind, for the results page.

The tables (capacity.csv, flows.csv, costs.csv, techs.csv) sit in the run's folder of the run files
store (services/storage.py: read in place from a local store, through a local cache from S3).
Only small, already aggregated frames leave this module: the hourly flows are read here, cut to
one carrier and node and summed, then handed to the dispatch chart.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
from sqlmodel import Session, select

from engage_reflex.models import Carrier, Run, RunStatus
from engage_reflex.schemas import DispatchView, ResultsView
from engage_reflex.schemas.results import NUMBER_COLUMNS, RESULT_TABLES
from engage_reflex.services import runs, storage
from engage_reflex.services.errors import EngageError

COLUMNS = {
    "capacity": ["node", "tech", "carrier", "variable", "value"],
    "flows": ["timestep", "node", "tech", "carrier", "direction", "value"],
    "costs": ["node", "tech", "cost_class", "value"],
    "techs": ["tech", "name", "color", "base_tech"],
    **{kind: columns for kind, (_file, columns) in RESULT_TABLES.items()},
}
# Longer dispatch series are shown as daily means: a browser draws ~1500 points per trace smoothly.
MAX_DISPATCH_POINTS = 1500
# Net flows below this are solver noise (calliope's own zero threshold is 1e-10).
NOISE = 1e-9
_MISSING = "The result files of this run are missing on the server. Please start the run again."


def load_results(*, session: Session, user_id: int, run_id: int) -> ResultsView:
    run_view = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    run = succeeded_run(session, run_id, run_view.status)
    flows = _flows(_path(run, "flows"))
    capacity = _read(_path(run, "capacity"), "capacity")
    carriers = (
        flows[flows["direction"] == "out"].groupby("carrier")["value"].sum().sort_values(ascending=False)
    )
    extra = sorted(set(flows["carrier"]) - set(carriers.index))
    nodes = sorted(set(flows["node"]) | set(capacity["node"]))
    return ResultsView(
        run=run_view,
        timings=_timings(run.timings or {}),
        capacity=capacity,
        techs=_read(_path(run, "techs"), "techs"),
        costs=_read(_path(run, "costs"), "costs"),
        carriers=[str(c) for c in carriers.index] + extra,
        nodes=[str(n) for n in nodes],
        units=_units(session, run.model_id),
    )


def load_dispatch(*, session: Session, user_id: int, run_id: int, carrier: str, node: str = "", tech: str = "",
                  start: str = "", end: str = "") -> DispatchView:
    """Flows of `carrier` per timestep, tech and direction, at `node` or summed over all nodes,
    from day `start` to day `end` (YYYY-MM-DD, both included; "" = the run's first / last).
    With `tech`, only that technology and the demand it serves are shown.

    Transmission lines of one name are one series, netted per timestep: at one node, net
    imports count as produced and net exports as consumed; summed over all nodes imports and
    exports cancel, so only the lines' losses remain (as consumption).
    """
    run_view = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    run = succeeded_run(session, run_id, run_view.status)
    flows = _flows(_path(run, "flows"))
    techs = _read(_path(run, "techs"), "techs")
    data = slice_period(flows[flows["carrier"] == carrier], start, end)
    if node:
        data = data[data["node"] == node]
    if tech:
        demands = set(techs.loc[techs["base_tech"] == "demand", "tech"])
        data = data[(data["tech"] == tech) | data["tech"].isin(demands)]
    unit = _units(session, run.model_id).get(carrier, "kW")
    if data.empty:
        note = _nothing_flowed(flows, carrier, node) if not (start or end or tech) else \
            f"Nothing flowed for this choice of {carrier}, location, technology and period."
        return DispatchView(flows=_empty_dispatch(), carrier=carrier, unit=unit, note=note)
    transmission = techs[techs["base_tech"] == "transmission"]
    # Every line of one display name is drawn as the first line of that name.
    alias = {row.tech: transmission[transmission["name"] == row.name]["tech"].iloc[0]
             for row in transmission.itertuples()}
    data = data.assign(tech=data["tech"].map(lambda t: alias.get(t, t)))
    summed = data.groupby(["timestep", "tech", "direction"], as_index=False)["value"].sum()
    if alias:
        summed = _net_transmission(summed, set(alias.values()))
    summed = summed[summed["value"] > NOISE]
    if summed.empty:  # e.g. a junction node: whatever arrives on a line leaves on another
        return DispatchView(flows=_empty_dispatch(), carrier=carrier, unit=unit,
                            note=f"At {node or 'all nodes'}, {carrier} only passed through on transmission lines "
                                 "(what arrived left again), so there is nothing to draw.")
    # Flows are energy per timestep; shown as average power, so resampled runs read the same.
    hours = _step_hours(summed["timestep"])
    if hours != 1.0:
        summed = summed.assign(value=summed["value"] / hours)
    summed, note = thin_out(summed)
    return DispatchView(flows=summed, carrier=carrier, unit=unit, note=note)


def slice_period(frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """Rows whose timestep lies on day `start` .. day `end` (both included). Time steps are
    "YYYY-MM-DD HH:MM:SS" text, so text comparison is date order and no parsing is needed."""
    if start:
        frame = frame[frame["timestep"] >= start]
    if end:
        frame = frame[frame["timestep"] < end + "~"]  # "~" sorts after any time of that day
    return frame


def thin_out(summed: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Daily means when a period has more time steps than a browser draws smoothly."""
    if summed["timestep"].nunique() > MAX_DISPATCH_POINTS:
        return _daily_means(summed), "Daily means: this period is too long to draw hour by hour."
    return summed, ""


def _empty_dispatch() -> pd.DataFrame:
    return pd.DataFrame({"timestep": pd.Series(dtype=str), "tech": pd.Series(dtype=str),
                         "direction": pd.Series(dtype=str), "value": pd.Series(dtype=float)})


def _nothing_flowed(flows: pd.DataFrame, carrier: str, node: str) -> str:
    """Why the dispatch of a carrier is empty, in words (and where it did flow, if anywhere)."""
    if not carrier:
        return "Nothing was produced or consumed in this run."
    elsewhere = sorted(set(flows.loc[flows["carrier"] == carrier, "node"]))
    if not elsewhere:
        return f"No {carrier} was produced or consumed anywhere in this run."
    shown = ", ".join(elsewhere[:6]) + (f" and {len(elsewhere) - 6} more" if len(elsewhere) > 6 else "")
    return f"No {carrier} was produced or consumed at {node} in this run; it flowed at {shown}."


def succeeded_run(session: Session, run_id: int, status: str) -> Run:
    if status != RunStatus.succeeded.value:
        if status == RunStatus.failed.value:
            raise EngageError("This run failed, so it has no results. Its message on the model page says why.")
        if status == RunStatus.cancelled.value:
            raise EngageError("This run was cancelled, so it has no results.")
        raise EngageError("This run has not finished yet. Its results appear here once it has succeeded.")
    run = session.get(Run, run_id)
    if run is None or not run.artefact_dir:
        raise EngageError(_MISSING)
    return run


def _path(run: Run, name: str) -> Path:
    path = table_path(run, name)
    if path is None:
        raise EngageError(_MISSING)
    return path


def table_path(run: Run, name: str) -> Path | None:
    """The run's result table `name`, None when the run has no such file (e.g. solved before it existed)."""
    default = RESULT_TABLES[name][0] if name in RESULT_TABLES else f"{name}.csv"
    return storage.stored_file(runs.results_dir(run), (run.artefacts or {}).get(name, default))


def read_table(path: Path, kind: str) -> pd.DataFrame:
    """A result table (a copy: callers may change it)."""
    return _read(path, kind)


def _read(path: Path, kind: str) -> pd.DataFrame:
    return _read_cached(str(path), path.stat().st_mtime_ns, kind).copy()


def _flows(path: Path) -> pd.DataFrame:
    # Not copied: callers only filter it (which makes new frames).
    return _read_cached(str(path), path.stat().st_mtime_ns, "flows")


@functools.lru_cache(maxsize=32)
def _read_cached(path: str, _mtime_ns: int, kind: str) -> pd.DataFrame:
    """A run's tables never change once written; the mtime in the key guards a re-run into the same dir."""
    columns = COLUMNS[kind]
    try:
        frame = pd.read_csv(path, dtype={c: "string" for c in columns if c not in NUMBER_COLUMNS},
                            keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise EngageError(f"The result file {Path(path).name} of this run cannot be read ({exc}).")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EngageError(f"The result file {Path(path).name} lacks the columns {', '.join(missing)}.")
    frame = frame[columns].astype({c: str for c in columns if c not in NUMBER_COLUMNS})
    for column in NUMBER_COLUMNS.intersection(columns):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
        if column not in ("latitude", "longitude"):  # a missing coordinate stays missing
            frame[column] = frame[column].fillna(0.0)
    return frame


def _net_transmission(summed: pd.DataFrame, lines: set[str]) -> pd.DataFrame:
    is_line = summed["tech"].isin(lines)
    if not is_line.any():  # e.g. gas in urban_scale: lines carry other carriers only
        return summed
    wide = summed[is_line].pivot_table(index=["timestep", "tech"], columns="direction", values="value",
                                       aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=["out", "in"], fill_value=0.0)
    net = (wide["out"] - wide["in"]).rename("value").reset_index()
    net["direction"] = net["value"].map(lambda v: "out" if v > 0 else "in")
    net["value"] = net["value"].abs()
    return pd.concat([summed[~is_line], net[["timestep", "tech", "direction", "value"]]], ignore_index=True)


def _step_hours(timesteps: pd.Series) -> float:
    times = pd.to_datetime(pd.Series(timesteps.unique())).sort_values()
    if len(times) < 2:
        return 1.0
    hours = times.diff().dropna().dt.total_seconds().median() / 3600
    return float(hours) if hours > 0 else 1.0


def _daily_means(summed: pd.DataFrame) -> pd.DataFrame:
    day = summed["timestep"].str.slice(0, 10)  # "YYYY-MM-DD HH:MM:SS" text: its first 10 characters
    steps_per_day = summed.assign(day=day).groupby("day")["timestep"].nunique()
    keys = [c for c in summed.columns if c not in ("timestep", "value")]
    totals = summed.assign(day=day).groupby(["day", *keys], as_index=False)["value"].sum()
    totals["value"] = totals["value"] / totals["day"].map(steps_per_day)
    return totals.rename(columns={"day": "timestep"})


def _units(session: Session, model_id: int) -> dict[str, str]:
    rows = session.exec(select(Carrier.name, Carrier.rate_unit).where(Carrier.model_id == model_id)).all()
    return {name: unit or "kW" for name, unit in rows}


_TIMING_LABELS = {"wait_s": "Waiting for a worker", "read_s": "Reading the model", "build_s": "Building the problem",
                  "solve_s": "Solving", "write_s": "Saving results", "total_s": "Total work (without waiting)"}


def _timings(timings: dict) -> list[tuple[str, float]]:
    """The steps a planner recognises, in the order the run went through them."""
    return [(label, float(timings[key])) for key, label in _TIMING_LABELS.items()
            if isinstance(timings.get(key), (int, float))]
