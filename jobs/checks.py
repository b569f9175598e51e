"""RQ entry point of "Check model": Calliope reads a scenario's definition, nothing is solved.

It takes an id, reads the rows in one short transaction and answers with a small dict (the
job's result, kept for minutes): a check changes nothing, so there is no row to write.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from engage_reflex.db import session_scope
from engage_reflex.services.calliope_io import export_scenario
from engage_reflex.services.errors import EngageError
from jobs.calliope_runner import ModelReadError, read_model


def read_scenario(scenario_id: int) -> dict:
    """{"ok": True} when Calliope reads the scenario, else {"ok": False, "problem": <planner words>}."""
    started = time.monotonic()
    try:
        with session_scope() as session:
            exported = export_scenario(session=session, scenario_id=scenario_id)
    except EngageError as exc:
        return {"ok": False, "problem": exc.message, "seconds": time.monotonic() - started}
    with tempfile.TemporaryDirectory(prefix="engage-check-") as tmp:
        try:
            read_model(exported, Path(tmp) / "model", raw_log=Path(tmp) / "read.log")
        except ModelReadError as exc:
            return {"ok": False, "problem": exc.message,
                    "seconds": time.monotonic() - started}
    return {"ok": True, "problem": "", "seconds": time.monotonic() - started}
