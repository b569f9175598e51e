"""What the timeseries page shows: one row per stored series, and a drawable preview of one."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SeriesRow:
    id: int
    name: str
    unit: str
    description: str
    source_filename: str
    # "YYYY-MM-DD HH:MM" in the model's time zone ("" for an empty series).
    start: str
    end: str
    length: int
    step_minutes: int
    # Planner text per parameter value that points at the series, e.g.
    # "sink_use_equals of demand_power at Berlin" or "timestep_weights (model)".
    used_by: tuple[str, ...]
    time_zone: str


@dataclasses.dataclass(frozen=True)
class SeriesPreview:
    """At most `max_points` points of one series within a window, plus what the window covers.

    `x` are "YYYY-MM-DD HH:MM" labels in `time_zone`; `drawn` of the window's `total` points are
    drawn (min and max of each bucket, so peaks survive). The numbers and gaps describe the whole
    window, not only the drawn points; min/max/mean are None when the window holds no value.
    """

    series_id: int
    name: str
    unit: str
    time_zone: str
    x: tuple[str, ...]
    y: tuple[float, ...]
    drawn: int
    total: int
    first: str
    last: str
    # At most 20, e.g. "2024-03-05 13:00 → 2024-03-05 17:00 (3 steps missing)"; gap_count has them all.
    gaps: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    mean: float | None
    total_sum: float
    step_minutes: int
    gap_count: int = 0
