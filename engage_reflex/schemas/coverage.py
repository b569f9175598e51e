"""Which timeseries a scenario's run needs, and whether they hold data over the run period."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SeriesCoverage:
    """One timeseries the scenario uses. Times are "YYYY-MM-DD HH:MM" and days "YYYY-MM-DD",
    both in the view's `time_zone`; `data_until` is the end of the last time step."""

    series_id: int
    name: str
    first: str
    last: str
    data_until: str
    # The first and last whole day with data ("" when the series holds no whole day).
    first_day: str
    last_day: str
    # What uses it, e.g. "demand at region1: sink_use_equals".
    used_by: tuple[str, ...]
    covers: bool
    # Why it does not cover the run period and what to do ("" when it covers it).
    message: str = ""


@dataclasses.dataclass(frozen=True)
class CoverageView:
    """The run period (days, both included) against every series the scenario uses."""

    model_id: int
    scenario_id: int
    scenario_name: str
    # The zone the run dates are read in (the one Calliope's time axis is in) and the model's own.
    time_zone: str
    model_time_zone: str
    period_start: str
    period_end: str
    # "chosen" (the run form's dates), "model" (config.init.subset) or "data" (every time step).
    period_source: str
    series: tuple[SeriesCoverage, ...]
    # One planner message per problem, in order; empty when the period is covered.
    messages: tuple[str, ...]
    # What `require_coverage` refuses a run with ("" when covered).
    refusal: str = ""

    @property
    def covered(self) -> bool:
        return not self.messages
