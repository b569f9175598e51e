"""Run periods as planners type them: days (YYYY-MM-DD) and time resolutions (3h, 1D).

One definition for the run form (services/runs.py), the coverage check (services/coverage.py)
and a scenario's own period (services/scenarios.py).
"""

from __future__ import annotations

import re
from datetime import date

from engage_reflex.services.errors import EngageError

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RESAMPLE = re.compile(r"^([1-9]\d{0,2})\s*([hHdD])$")


def parse_date(text: str, label: str) -> date:
    """The day `text` (YYYY-MM-DD) or EngageError naming it as the `label` date ("start", "end", …)."""
    if not ISO_DATE.match(text):
        raise EngageError(f"The {label} date “{text}” is not a date like 2005-01-31 (YYYY-MM-DD).")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise EngageError(f"The {label} date “{text}” does not exist in the calendar.") from None


def parse_resample(resample: str | None) -> str | None:
    """A time resolution as pandas reads it ("3h", "1D"), None for empty, or EngageError."""
    text = (resample or "").strip()
    if not text:
        return None
    m = _RESAMPLE.match(text)
    if not m:
        raise EngageError(
            f"“{text}” is not a time resolution. Use a number of hours or days such as 1h, 3h, 6h "
            "or 1D, or leave it empty to keep the model's own resolution."
        )
    # pandas 3 only accepts lower-case "h" and upper-case "D".
    return f"{int(m[1])}{'h' if m[2] in 'hH' else 'D'}"
