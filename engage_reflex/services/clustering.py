"""Representative days for a run ("time clustering"), computed with tsam.

The run's days are grouped into `days` clusters of similar days, judged by every timeseries of
the model at once (each scaled to 0-1, so a demand in kW and a capacity factor count alike).
Each cluster is stood for by its medoid, a real day of the data, never an average: Calliope 0.7
then keeps only those days (`config.init.time_cluster`), weighted by how many days each stands
for, and links storage across them with its `storage_inter_cluster` math.

Pure pandas + tsam: it knows nothing of the database or of Calliope's objects.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from engage_reflex.services.errors import EngageError

LOGGER = logging.getLogger(__name__)
# The name of the lookup Calliope clusters by (one date per day of the run) and of its table.
CLUSTER_PARAM = "engage_cluster_days"
INTER_CLUSTER_MATH = "storage_inter_cluster"
MAX_CLUSTER_DAYS = 366


def check_cluster_days(value, run_days: int | None = None) -> int | None:
    """The form's "representative days" as a number, None for "no clustering"; fewer than the
    run's days when those are known."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        days = int(str(value).strip())
    except ValueError:
        raise EngageError(f"Representative days must be a whole number (got “{value}”), or left empty "
                          "to solve every day.") from None
    if days < 1 or days > MAX_CLUSTER_DAYS:
        raise EngageError(f"Representative days must be between 1 and {MAX_CLUSTER_DAYS}, or left empty to solve "
                          "every day.")
    if run_days is not None and days >= run_days:
        raise _too_many(days, run_days)
    return days


def _too_many(days: int, run_days: int) -> EngageError:
    return EngageError(
        f"The run has {run_days} day{'s' if run_days != 1 else ''}, so {days} representative days would "
        f"cluster nothing. Choose fewer than {run_days} days, or leave the field empty to solve every day.")


def period_bounds(subset) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Calliope's inclusive `subset.timesteps` ["2005-01", "2005-02-10"] as [start, end) times."""
    if not isinstance(subset, (list, tuple)) or len(subset) != 2 or None in subset:
        return None
    try:
        return pd.Period(str(subset[0])).start_time, pd.Period(str(subset[1])).end_time + pd.Timedelta(1, "ns")
    except (ValueError, TypeError):
        return None


def representative_days(frames: dict[str, pd.DataFrame], *, days: int,
                        period: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> pd.DataFrame:
    """One row per day of the run (index `datesteps`, "YYYY-MM-DD"), column `cluster`: the day
    that stands for it. `frames` are the exported data tables (index: timesteps)."""
    data = _day_matrix(frames, period)
    day_count = len(data) // _steps_per_day(data.index)
    if days >= day_count:
        raise _too_many(days, day_count)
    steps = _steps_per_day(data.index)
    hours = 24 / steps
    import tsam.timeseriesaggregation as tsam

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tsam warns about its own defaults (e.g. the noise of constant columns)
        aggregation = tsam.TimeSeriesAggregation(
            data.reset_index(drop=True).set_index(pd.RangeIndex(len(data))).astype(float),
            noTypicalPeriods=days, hoursPerPeriod=24, resolution=hours,
            clusterMethod="hierarchical", representationMethod="medoidRepresentation")
        aggregation.createTypicalPeriods()
    order = np.asarray(aggregation.clusterOrder)
    centres = np.asarray(aggregation.clusterCenterIndices)
    dates = pd.Index(sorted({d for d in data.index.strftime("%Y-%m-%d")}))
    chosen = [dates[int(centres[c])] for c in order]
    return pd.DataFrame({"cluster": chosen}, index=pd.Index(list(dates), name="datesteps"))


def _day_matrix(frames: dict[str, pd.DataFrame], period: tuple[pd.Timestamp, pd.Timestamp] | None) -> pd.DataFrame:
    """Every series of the model side by side over the run's whole days, each scaled to 0-1."""
    columns = []
    for name, frame in frames.items():
        if not isinstance(frame.index, pd.DatetimeIndex):
            continue
        flat = frame.copy()
        flat.columns = [f"{name}:{i}" for i in range(flat.shape[1])]
        columns.append(flat)
    if not columns:
        raise EngageError("Time clustering groups days by the model's timeseries, and this model has none. "
                          "Leave representative days empty, or upload timeseries (e.g. demand) first.")
    data = pd.concat(columns, axis=1).sort_index()
    data = data[~data.index.duplicated()]
    if period is not None:
        data = data[(data.index >= period[0]) & (data.index < period[1])]
    if data.empty:
        raise EngageError("The model's timeseries have no data on the run's days, so there is nothing to cluster.")
    steps = _steps_per_day(data.index)
    day = data.index.normalize()
    whole = day.value_counts()
    whole = set(whole[whole == steps].index)
    data = data[day.isin(whole)]
    if data.empty:
        raise EngageError("Time clustering needs whole days of data, and the run's period has none.")
    data = data.fillna(0.0)
    low, span = data.min(), (data.max() - data.min())
    return (data - low) / span.where(span > 0, 1.0)


def _steps_per_day(index: pd.DatetimeIndex) -> int:
    step = pd.Series(index).diff().dropna().median()
    if pd.isna(step) or step <= pd.Timedelta(0) or pd.Timedelta(days=1) % step != pd.Timedelta(0):
        raise EngageError("Time clustering needs timeseries whose time step divides a day (e.g. hourly or "
                          "15-minute data).")
    return int(pd.Timedelta(days=1) / step)


def add_to_definition(definition: dict, dataframes: dict[str, pd.DataFrame], clusters: pd.DataFrame) -> None:
    """Register the clusters as Calliope's `time_cluster` lookup, with inter-cluster storage math (in place)."""
    dataframes[CLUSTER_PARAM] = clusters
    definition.setdefault("data_tables", {})[CLUSTER_PARAM] = {
        "table": CLUSTER_PARAM, "rows": "datesteps", "add_dims": {"inputs": CLUSTER_PARAM}}
    init = definition.setdefault("config", {}).setdefault("init", {})
    init["time_cluster"] = CLUSTER_PARAM
    extra = init.get("extra_math")
    extra = [extra] if isinstance(extra, str) else list(extra or [])
    if INTER_CLUSTER_MATH not in extra:
        # Storage links the representative days in their real order; without this math Calliope
        # refuses cyclic storage with clusters, and without cyclic storage each day starts empty.
        extra.insert(0, INTER_CLUSTER_MATH)
    init["extra_math"] = extra
