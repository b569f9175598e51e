"""How big a run will be and how long it will take, before it is queued.

The size of a Calliope problem grows with its time steps: variables and constraints per time
step are taken from this model's latest built run (the solve job records them, Run.size) and
scaled to the new run's time steps. The time comes from past runs on this server that solved a
problem of similar size with the same solver: their work time, scaled by the size ratio. With no
such runs the estimate says what it cannot know yet instead of guessing.
"""

from __future__ import annotations

import math
import statistics

from sqlmodel import Session, select

from engage_reflex.models import Run, RunStatus, Scenario, Timeseries
from engage_reflex.schemas.run_estimate import RunEstimateView
from engage_reflex.services.access import require_view
from engage_reflex.services.clustering import check_cluster_days
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.periods import parse_date, parse_resample

# How many past runs of the nearest size the time estimate is taken from.
NEAREST_RUNS = 5
HISTORY_LIMIT = 500  # the latest runs looked at (a server's history can be long)


def estimate_run(*, session: Session, user_id: int, scenario_id: int, start: str, end: str,
                 resample: str | None = None, cluster_days: int | str | None = None,
                 solver: str = "highs") -> RunEstimateView:
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if first > last:
        raise EngageError(f"The start date {first} is after the end date {last}.")
    days = (last - first).days + 1
    clusters = check_cluster_days(cluster_days, days)
    if clusters is not None:
        days = min(days, clusters)
    steps = round(days * _steps_per_day(session, scenario.model_id, parse_resample(resample)))
    variables = constraints = None
    per_step = _latest_size(session, scenario.model_id)
    if per_step is not None:
        variables = round(per_step["variables"] * steps)
        constraints = round(per_step["constraints"] * steps)
    seconds, based_on = (None, 0) if variables is None else _expected_seconds(session, variables, solver)
    return RunEstimateView(timesteps=steps, variables=variables, constraints=constraints, seconds=seconds,
                           based_on=based_on, text=_text(steps, variables, constraints, seconds, based_on, solver))


def _steps_per_day(session: Session, model_id: int, resample: str | None) -> float:
    if resample:
        hours = _hours(resample)
    else:
        hours = 1.0
        rows = session.exec(select(Timeseries.start, Timeseries.end, Timeseries.length)
                            .where(Timeseries.model_id == model_id, Timeseries.length > 1)).all()
        steps = [(end - start).total_seconds() / 3600 / (length - 1) for start, end, length in rows
                 if start is not None and end is not None]
        if steps and min(steps) > 0:
            hours = min(steps)  # Calliope's axis has the finest step of its series
    return 24 / hours


def _hours(resample: str) -> float:
    import pandas as pd

    return pd.Timedelta(resample).total_seconds() / 3600


def _latest_size(session: Session, model_id: int) -> dict[str, float] | None:
    """Variables and constraints per time step of this model's latest run that was built."""
    rows = session.exec(select(Run.size).where(Run.model_id == model_id).order_by(Run.id.desc())
                        .limit(50)).all()
    for size in rows:
        if isinstance(size, dict) and size.get("timesteps") and size.get("variables"):
            steps = float(size["timesteps"])
            return {"variables": size["variables"] / steps, "constraints": size.get("constraints", 0) / steps}
    return None


def _expected_seconds(session: Session, variables: int, solver: str) -> tuple[float | None, int]:
    rows = session.exec(select(Run.size, Run.timings).where(
        Run.status == RunStatus.succeeded.value, Run.solver == solver, Run.reused_from_id.is_(None))
        .order_by(Run.id.desc()).limit(HISTORY_LIMIT)).all()
    past = [(float(size["variables"]), float(timings["total_s"])) for size, timings in rows
            if isinstance(size, dict) and size.get("variables") and isinstance(timings, dict)
            and isinstance(timings.get("total_s"), (int, float))]
    if not past:
        return None, 0
    nearest = sorted(past, key=lambda p: abs(math.log(p[0]) - math.log(max(variables, 1))))[:NEAREST_RUNS]
    # Solvers grow a little faster than linearly with size; linear scaling is the honest middle.
    return statistics.median(seconds * variables / size for size, seconds in nearest), len(nearest)


def _text(steps: int, variables, constraints, seconds, based_on: int, solver: str) -> str:
    size = f"{steps:,} time step{'s' if steps != 1 else ''}"
    if variables is None:
        return (f"{size}. The problem's size is known after this model's first run; later runs are "
                "estimated from it.")
    text = f"{size}: about {variables:,} variables and {constraints:,} constraints."
    name = "HiGHS" if solver == "highs" else solver.upper()
    if seconds is None:
        return text + f" No earlier {name} run on this server to estimate the time from yet."
    runs = f"{based_on} past {name} run{'s' if based_on != 1 else ''}"
    return text + f" Expected time: {_duration(seconds)} (from {runs} of similar size)."


def _duration(seconds: float) -> str:
    if seconds < 60:
        return "under a minute" if seconds >= 20 else "a few seconds"
    minutes = seconds / 60
    if minutes < 90:
        return f"about {max(1, round(minutes))} minute{'s' if round(minutes) > 1 else ''}"
    return f"about {minutes / 60:.1f} hours"

