"""The size and expected time of a run, shown on the Run form before it is queued."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RunEstimateView:
    timesteps: int
    variables: int | None
    constraints: int | None
    seconds: float | None  # expected work time (None: no past runs to learn from)
    based_on: int  # how many past runs the time comes from
    text: str  # one or two sentences for the Run form
