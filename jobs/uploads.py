"""RQ entry points of timeseries uploads (`short` queue): read a stored file, then store its series.

Each takes an upload id, reloads the row, and writes what happened to it: the row is what the
page shows. The cleaned series and the row's "succeeded" go in one transaction, so a failure
leaves no series behind.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime
from pathlib import Path

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Upload, UploadStatus
from engage_reflex.services import timeseries as series_service
from engage_reflex.services import uploads
from engage_reflex.services.errors import EngageError
from engage_reflex.services.timeseries_csv import (
    CsvLayout,
    CsvRefused,
    SeriesChoice,
    clean_csv,
    inspect_csv,
)

LOGGER = logging.getLogger(__name__)
ENGAGE_FAULT = ("Engage could not read this file because of an error in Engage itself (not in your file). "
                "It has been logged; please try again later or tell the administrators.")
PROGRESS_EVERY_S = 0.25


class _Progress:
    """Writes the job's progress to `job.meta` at most every PROGRESS_EVERY_S (the page polls it)."""

    def __init__(self) -> None:
        from rq import get_current_job

        self.job = get_current_job()
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if self.job is None or now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        self.job.meta["progress"] = round(float(fraction), 3)
        try:
            self.job.save_meta()
        except Exception:  # progress is a nicety; Redis hiccups must not fail the upload
            LOGGER.debug("could not save progress", exc_info=True)


GONE_MESSAGE = "The uploaded file is no longer stored; please upload it again."


def _begin(upload_id: int, message: str) -> tuple[str, dict, str] | None:
    with session_scope() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:  # discarded meanwhile
            return None
        model = session.get(EnergyModel, upload.model_id)
        upload.status, upload.message = UploadStatus.processing, message
        session.add(upload)
        return upload.stored_path, dict(upload.result or {}), (model.time_zone if model else "") or "UTC"


def _local_file(upload_id: int, stored_path: str) -> Path | None:
    """The upload's file on this worker (fetched from the run files store), or None after the row
    says why it cannot be read (the store down, the file gone)."""
    try:
        return uploads.local_file(stored_path)
    except FileNotFoundError:
        _finish(upload_id, UploadStatus.failed, GONE_MESSAGE)
    except EngageError as exc:  # StoreUnreachable: its message tells the planner to retry
        _finish(upload_id, UploadStatus.failed, exc.message)
    return None


def _finish(upload_id: int, status: UploadStatus, message: str, **result) -> None:
    with session_scope() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            return
        upload.status, upload.message = status, message
        upload.result = {**(upload.result or {}), **result}
        session.add(upload)


def _problems(problems) -> list[dict]:
    return [dataclasses.asdict(p) for p in problems]


def inspect_upload(upload_id: int) -> str:
    """Sniff the layout and columns of the stored file; the row becomes `inspected` (or `failed`)."""
    begun = _begin(upload_id, "Reading the file")
    if begun is None:
        return "gone"
    stored, result, _zone = begun
    path = _local_file(upload_id, stored)
    if path is None:
        return "refused"
    override = result.get("layout_override")
    try:
        inspection = inspect_csv(path, layout=CsvLayout(**override) if override else None, progress=_Progress())
    except CsvRefused as exc:
        _finish(upload_id, UploadStatus.failed, exc.message, problems=_problems(exc.problems))
        return "refused"
    except Exception:
        LOGGER.exception("inspecting upload %s failed", upload_id)
        _finish(upload_id, UploadStatus.failed, ENGAGE_FAULT)
        return "error"
    found = len(inspection.columns)
    message = (f"Read {inspection.data_rows:,} rows and {found} column{'s' if found != 1 else ''}. "
               f"Pick the time stamps and the columns to keep.")
    _finish(upload_id, UploadStatus.inspected, message, inspection=dataclasses.asdict(inspection), problems=[])
    return "inspected"


def clean_upload(upload_id: int) -> str:
    """Clean the chosen columns and store them as series of the model, all or nothing."""
    begun = _begin(upload_id, "Cleaning and storing the series")
    if begun is None:
        return "gone"
    stored, result, zone = begun
    path = _local_file(upload_id, stored)
    if path is None:
        return "refused"
    choice, inspection = result.get("choice") or {}, result.get("inspection") or {}
    try:
        cleaned = clean_csv(
            path, layout=CsvLayout(**inspection["layout"]),
            series=[SeriesChoice(column=c, name=n) for c, n in choice["series"]], time_zone=zone,
            timestamp_column=choice.get("timestamp_column") or None,
            start=datetime.fromisoformat(choice["start"]) if choice.get("start") else None,
            step_minutes=int(choice.get("step_minutes") or 60), progress=_Progress())
    except CsvRefused as exc:
        _finish(upload_id, UploadStatus.failed, exc.message, problems=_problems(exc.problems))
        return "refused"
    except Exception:
        LOGGER.exception("cleaning upload %s failed", upload_id)
        _finish(upload_id, UploadStatus.failed, ENGAGE_FAULT)
        return "error"
    try:
        with session_scope() as session:
            upload = session.get(Upload, upload_id)
            if upload is None:
                return "gone"
            stored = series_service.store_series(
                session=session, user_id=upload.user_id, model_id=upload.model_id, series=cleaned.series,
                source_filename=upload.filename, unit=choice.get("unit") or "")
            names = [s.name for s in stored]
            upload.status = UploadStatus.succeeded
            upload.message = (f"Stored {len(names)} series from {upload.filename}: " + ", ".join(names) + ".")
            upload.result = {**(upload.result or {}), "stored": names, "problems": _problems(cleaned.problems)}
            session.add(upload)
    except EngageError as exc:  # a name taken meanwhile, edit right withdrawn, ...
        _finish(upload_id, UploadStatus.failed, exc.message)
        return "refused"
    except Exception:
        LOGGER.exception("storing upload %s failed", upload_id)
        _finish(upload_id, UploadStatus.failed, ENGAGE_FAULT)
        return "error"
    uploads.release_local_copy(path)
    uploads.remove_files(upload_id)  # the series are in the database now
    return "stored"
