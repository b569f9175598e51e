"""Timeseries uploads: a file is stored at once, then `short` queue jobs read it (jobs/uploads.py).

The steps a planner sees, written on the `Upload` row (the source of truth):
  queued → processing (inspect) → inspected: the planner picks columns and names
         → queued → processing (clean) → succeeded (the series are in the database) | failed.
A failed upload keeps its file, so the planner can change the choices and try again;
a succeeded one drops it (the series are stored). `job.meta["progress"]` only carries how far
the running job is.

The file lives in the run files store (services/storage.py) under `uploads/<upload id>/<name>`,
so a worker on another machine reads it; `Upload.stored_path` holds that key (rows written
before the store hold an absolute path on the app's disk, still read by `local_file`).
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from engage_reflex.models import EnergyModel, Timeseries, Upload, UploadStatus
from engage_reflex.schemas.archives import ArchiveUploadView
from engage_reflex.schemas.uploads import UploadColumn, UploadProblem, UploadView
from engage_reflex.services import archives, storage
from engage_reflex.services.access import require_edit, require_view
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.services.timeseries_csv import MAX_FILE_BYTES, MAX_SERIES_PER_UPLOAD
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)
KIND = "timeseries"
ACCEPTED_SUFFIXES = (".csv", ".txt", ".tsv")
LIMIT_TEXT = f"{MAX_FILE_BYTES // (1024 * 1024)} MB"
QUEUE_DOWN_MESSAGE = ("The file is stored, but the job queue does not answer, so it was not read. "
                      "Please try again in a minute.")
_STEP_CHOICES = (15, 30, 60, 120, 180, 360, 720, 1440)


def uploads_dir() -> Path:
    return get_settings().data_dir / "uploads"


def incoming_path() -> Path:
    """Where a streaming upload is written before it has a row (a fresh name each time)."""
    folder = uploads_dir() / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}.part"


def check_upload_name(filename: str) -> str:
    """The file's base name, refused unless it is a text table we read."""
    name = Path((filename or "").replace("\\", "/")).name.strip()
    if not name:
        raise EngageError("The file has no name; please choose a CSV file.")
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise EngageError(f"“{name}” is not a CSV file. Engage reads timeseries from .csv, .tsv or .txt files "
                          f"(save the sheet as CSV in Excel).")
    return name[:300]


def size_refusal(size_bytes: int) -> str:
    return (f"The file is {size_bytes / (1024 * 1024):,.0f} MB; the limit is {LIMIT_TEXT} per file. "
            f"Split it, or keep only the columns you need.")


def upload_prefix(upload_id: int) -> str:
    """Where an upload's files live in the run files store."""
    return storage.join_key("uploads", str(int(upload_id)))


def _keep(session: Session, upload: Upload, incoming: Path, stored_name: str) -> None:
    """Record the upload and put its file into the store under its own prefix; committed before its
    job is queued (the worker reloads the row). If the store does not answer or the commit fails,
    neither the row nor the stored file stays; the incoming file is gone either way."""
    try:
        store = storage.get_store()
    except EngageError:
        incoming.unlink(missing_ok=True)
        raise
    session.add(upload)
    session.flush()
    prefix = upload_prefix(upload.id)
    key = storage.join_key(prefix, stored_name)
    try:
        if store.is_local:  # the key is a folder on this disk: a move, not a copy of up to 100 MB
            target = store.local_path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(incoming), target)
        else:
            store.upload(incoming, key)
        upload.stored_path = key
        session.commit()
    except BaseException:
        session.rollback()
        try:
            store.delete_prefix(prefix)
        except storage.StoreUnreachable:
            LOGGER.warning("could not remove the stored files of refused upload %s", upload.id)
        raise
    finally:
        incoming.unlink(missing_ok=True)


def local_file(stored_path: str) -> Path:
    """A file on this machine with the upload's bytes: an old row's absolute path as it is, a store
    key fetched from the store (the file itself on a local store). FileNotFoundError when it is gone,
    StoreUnreachable when the store does not answer."""
    if not stored_path:
        raise FileNotFoundError("the upload has no stored file")
    if Path(stored_path).is_absolute():
        return Path(stored_path)
    return storage.get_store().fetch(stored_path)


def has_file(stored_path: str) -> bool:
    """Whether the upload's file is still stored (StoreUnreachable when the store does not answer)."""
    if not stored_path:
        return False
    if Path(stored_path).is_absolute():
        return Path(stored_path).is_file()
    return storage.get_store().exists(stored_path)


def release_local_copy(path: Path) -> None:
    """Drop a worker's downloaded copy of an upload (an S3 store's fetch cache): it is read once."""
    store = storage.get_store()
    if not store.is_local and store.cache_dir in Path(path).parents:
        Path(path).unlink(missing_ok=True)


def start_timeseries_upload(*, session: Session, user_id: int | None, model_id: int, filename: str,
                            incoming: Path, size_bytes: int) -> UploadView:
    """Record the file written to `incoming` as an upload of this model and queue its inspection.

    Commits (the job must find the row) before it enqueues; the file is moved into the upload's
    own folder, or deleted when refused."""
    try:
        require_edit(session=session, user_id=user_id, model_id=model_id)
        name = check_upload_name(filename)
        if size_bytes <= 0:
            raise EngageError(f"“{name}” is empty.")
        if size_bytes > MAX_FILE_BYTES:
            raise EngageError(size_refusal(size_bytes))
    except EngageError:
        incoming.unlink(missing_ok=True)
        raise
    upload = Upload(model_id=model_id, user_id=user_id, kind=KIND, filename=name, status=UploadStatus.queued,
                    message="Waiting for a worker to read the file",
                    result={"size_bytes": size_bytes, "step": "inspect"})
    _keep(session, upload, incoming, "original")
    _enqueue(session, upload, "inspect")
    return _view(session, upload)


def choose_series(*, session: Session, user_id: int | None, upload_id: int, series: list[tuple[str, str]],
                  timestamp_column: str = "", start: str = "", step_minutes: int = 60, unit: str = "") -> UploadView:
    """The planner's choices for an inspected upload: which columns become which series, and where
    the time comes from (a timestamp column, or one value per step from `start`). Queues the clean job."""
    upload = _upload(session, upload_id)
    require_edit(session=session, user_id=user_id, model_id=upload.model_id)
    if upload.status not in (UploadStatus.inspected, UploadStatus.failed) or not upload.result.get("inspection"):
        raise EngageError("This file is still being read; wait until its columns are shown.")
    columns = [c["name"] for c in upload.result["inspection"]["columns"]]
    picked = [(c, (n or "").strip()) for c, n in series if c]
    if not picked:
        raise EngageError("Tick at least one value column to keep.")
    if len(picked) > MAX_SERIES_PER_UPLOAD:
        raise EngageError(f"You ticked {len(picked)} columns; at most {MAX_SERIES_PER_UPLOAD} series per upload.")
    for column, name in picked:
        if column not in columns:
            raise EngageError(f"The file has no column “{column}”.")
        if not name:
            raise EngageError(f"Give the series from column “{column}” a name.")
        if len(name) > 200:
            raise EngageError(f"The name “{name[:40]}…” is too long (200 characters at most).")
    _check_names(session, upload.model_id, [n for _, n in picked])
    timestamp_column = (timestamp_column or "").strip()
    start_at = None
    if timestamp_column:
        if timestamp_column not in columns:
            raise EngageError(f"The file has no column “{timestamp_column}”.")
        if any(c == timestamp_column for c, _ in picked):
            raise EngageError(f"“{timestamp_column}” holds the time stamps; it cannot also be a value column.")
    else:
        start_at = parse_start(start)
        if step_minutes not in _STEP_CHOICES:
            raise EngageError("Choose the time between two values from the list.")
    upload.result = {**upload.result, "step": "clean", "problems": [],
                     "choice": {"series": [list(p) for p in picked], "timestamp_column": timestamp_column,
                                "start": start_at.isoformat() if start_at else "", "step_minutes": step_minutes,
                                "unit": (unit or "").strip()[:40]}}
    upload.status, upload.message = UploadStatus.queued, "Waiting for a worker to clean and store the series"
    upload.rq_job_id = None  # the inspect job's id until the clean job is queued: never judge it lost
    session.add(upload)
    session.commit()
    _enqueue(session, upload, "clean")
    return _view(session, upload)


DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
DECIMALS = {".": "point", ",": "comma"}


def reread_upload(*, session: Session, user_id: int | None, upload_id: int, delimiter: str, decimal: str,
                  header_row: int) -> UploadView:
    """Read the file again with the planner's separator, decimal mark and header line."""
    upload = _upload(session, upload_id)
    require_edit(session=session, user_id=user_id, model_id=upload.model_id)
    if upload.status in (UploadStatus.queued, UploadStatus.processing):
        raise EngageError("This file is being read right now; change the settings when the worker is done.")
    if upload.status == UploadStatus.succeeded or not has_file(upload.stored_path):
        raise EngageError("This file's series are stored already; upload it again to read it differently.")
    if delimiter not in DELIMITERS or decimal not in DECIMALS:
        raise EngageError("Choose the column separator and the decimal mark from the lists.")
    if delimiter == decimal:
        raise EngageError("The decimal mark cannot be the column separator too (a comma cannot be both).")
    if not 1 <= int(header_row) <= 1000:
        raise EngageError("The header line is a line number from 1 to 1000.")
    layout = (upload.result.get("inspection") or {}).get("layout") or {}
    override = {"encoding": layout.get("encoding", "utf-8"), "bom": bool(layout.get("bom")),
                "delimiter": delimiter, "decimal": decimal, "header_row": int(header_row)}
    upload.result = {k: v for k, v in upload.result.items() if k not in ("inspection", "choice", "problems")}
    upload.result = {**upload.result, "step": "inspect", "layout_override": override}
    upload.status, upload.message = UploadStatus.queued, "Waiting for a worker to read the file again"
    upload.rq_job_id = None
    session.add(upload)
    session.commit()
    _enqueue(session, upload, "inspect")
    return _view(session, upload)


def parse_start(text: str) -> datetime:
    text = (text or "").strip()
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise EngageError("Give the date and time of the first value (e.g. 2025-01-01 00:00), or pick the column "
                      "that holds the time stamps.")


def upload_view(*, session: Session, user_id: int | None, upload_id: int) -> UploadView:
    upload = _upload(session, upload_id)
    require_view(session=session, user_id=user_id, model_id=upload.model_id)
    return _view(session, upload)


def latest_uploads(*, session: Session, user_id: int | None, model_id: int, limit: int = 5) -> list[UploadView]:
    """This user's latest timeseries uploads of the model that are not stored yet (in progress,
    waiting for choices, or failed), newest first."""
    require_view(session=session, user_id=user_id, model_id=model_id)
    rows = session.exec(select(Upload).where(Upload.model_id == model_id, Upload.user_id == user_id,
                                             Upload.kind == KIND, Upload.status != UploadStatus.succeeded)
                        .order_by(Upload.id.desc()).limit(limit)).all()
    return [_view(session, u) for u in rows]


def discard_upload(*, session: Session, user_id: int | None, upload_id: int) -> str:
    """Forget an upload that was not stored (or is done): its row and file. Returns the file name."""
    upload = _upload(session, upload_id)
    require_edit(session=session, user_id=user_id, model_id=upload.model_id)
    if upload.status in (UploadStatus.queued, UploadStatus.processing):
        raise EngageError("This file is being read right now; discard it when the worker is done.")
    name = upload.filename
    remove_files(upload_id, strict=True)  # the store down: the row stays, so discarding can be retried
    session.delete(upload)
    session.commit()
    return name


def remove_files(upload_id: int, *, strict: bool = False) -> None:
    """Delete the upload's files: its store prefix, and the app-disk folder that rows from before the store used.
    A store that does not answer raises StoreUnreachable when `strict`, else is logged (a worker's
    or a page's tidying up must not fail what it finished)."""
    shutil.rmtree(uploads_dir() / str(int(upload_id)), ignore_errors=True)
    try:
        storage.get_store().delete_prefix(upload_prefix(upload_id))
    except storage.StoreUnreachable:
        if strict:
            raise
        LOGGER.warning("could not remove the stored files of upload %s", upload_id, exc_info=True)


def job_id(upload_id: int, step: str) -> str:
    """Unique per attempt: a file read again must not meet its earlier job's leftovers in Redis."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", get_settings().queue_prefix)
    return f"{prefix}upload-{upload_id}-{step}-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------ helpers


def _upload(session: Session, upload_id: int) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None or upload.kind != KIND:
        raise NotFound("This upload no longer exists (it may have been discarded in another tab). Reload the page.")
    return upload


def _check_names(session: Session, model_id: int, names: list[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise EngageError(f"Two series are called “{name}”; give each its own name.")
        seen[name.lower()] = name
    taken = session.exec(select(Timeseries.name).where(Timeseries.model_id == model_id)).all()
    for existing in taken:
        if existing.lower() in seen:
            raise EngageError(f"This model already has a series called “{existing}”; choose another name "
                              f"(e.g. “{seen[existing.lower()]} 2”).")


def _enqueue(session: Session, upload: Upload, step: str, function: str = "") -> None:
    from engage_reflex.services import queue as jobqueue

    try:
        job = jobqueue.queue("short").enqueue(
            function or f"jobs.uploads.{step}_upload", upload.id, job_id=job_id(upload.id, step),
            job_timeout=jobqueue.job_timeout("short"), description=f"{step} upload {upload.id} ({upload.filename})")
    except Exception:  # redis down or refusing: say so instead of a traceback
        LOGGER.exception("could not enqueue upload %s", upload.id)
        upload.status, upload.message = UploadStatus.failed, QUEUE_DOWN_MESSAGE
        session.add(upload)
        session.commit()
        raise EngageError(QUEUE_DOWN_MESSAGE) from None
    upload.rq_job_id = job.id
    session.add(upload)
    session.commit()


WORKER_LOST_MESSAGE = ("The worker reading this file stopped before it was done (it may have been restarted "
                       "or run out of time). Nothing was stored; please try again.")


def _job_progress(upload: Upload) -> tuple[float, bool]:
    """(how far the running job is, 0..1, from its transient meta; whether its job is gone for good)."""
    if upload.status not in (UploadStatus.processing, UploadStatus.queued) or not upload.rq_job_id:
        return (1.0 if upload.status in (UploadStatus.inspected, UploadStatus.succeeded) else 0.0), False
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from engage_reflex.services import queue as jobqueue

    try:
        job = Job.fetch(upload.rq_job_id, connection=jobqueue.redis_connection())
        status = getattr(job.get_status(refresh=False), "value", "")
        if status in jobqueue.DEAD_JOB_STATUSES:
            return 0.0, True
        return max(0.0, min(1.0, float(job.get_meta(refresh=False).get("progress", 0.0)))), False
    except NoSuchJobError:
        return 0.0, True
    except Exception:  # Redis unreachable or odd meta: the bar just does not move
        return 0.0, False


def _view(session: Session, upload: Upload) -> UploadView:
    progress, lost = _job_progress(upload)
    if lost:  # the job died without writing its end (killed worker, timeout): say so once, for good
        upload.status, upload.message = UploadStatus.failed, WORKER_LOST_MESSAGE
        session.add(upload)
        session.flush()
    result = upload.result or {}
    inspection = result.get("inspection") or {}
    layout = inspection.get("layout") or {}
    columns = tuple(UploadColumn(name=c["name"], kind=c["kind"], samples=tuple(c.get("samples") or ()))
                    for c in inspection.get("columns") or ())
    problems = tuple(UploadProblem(row=p.get("row"), column=p.get("column"), message=p["message"],
                                   refused=bool(p.get("refused")))
                     for p in (result.get("problems") or []) + (inspection.get("problems") or []))
    return UploadView(
        id=upload.id, model_id=upload.model_id, filename=upload.filename, status=upload.status.value
        if hasattr(upload.status, "value") else str(upload.status), step=result.get("step", "inspect"),
        message=upload.message, progress=progress, size_bytes=int(result.get("size_bytes") or 0),
        columns=columns, preview=tuple(tuple(r) for r in inspection.get("preview") or ()),
        data_rows=int(inspection.get("data_rows") or 0), timestamp_column=inspection.get("timestamp_column") or "",
        date_format=inspection.get("date_format") or "", delimiter=layout.get("delimiter", ""),
        decimal=layout.get("decimal", ""), header_row=int(layout.get("header_row") or 1), problems=problems,
        stored=tuple(result.get("stored") or ()))


# ------------------------------------------------------------------------ model zips
# A zipped Calliope model folder becomes a new model of the uploading user (Upload.user_id):
# queued → processing (unpack, import) → succeeded (model_id set) | failed. Its files are
# removed either way once the job is done: a refused zip is uploaded again after fixing it.

ARCHIVE_KIND = "model_zip"
ARCHIVE_LIMIT_TEXT = f"{archives.MAX_UPLOAD_BYTES // (1024 * 1024)} MB"


def check_archive_name(filename: str) -> str:
    name = Path((filename or "").replace("\\", "/")).name.strip()
    if not name:
        raise EngageError("The file has no name; please choose a .zip file.")
    if not name.lower().endswith(".zip"):
        raise EngageError(f"“{name}” is not a zip file. Zip the folder that holds model.yaml and its CSV files "
                          f"(e.g. with your file manager's “Compress”), then upload the .zip.")
    return name[:300]


def archive_size_refusal(size_bytes: int) -> str:
    return (f"The zip is {size_bytes / (1024 * 1024):,.0f} MB; the limit is {ARCHIVE_LIMIT_TEXT}. "
            f"Leave results and other files out of the folder you zip.")


def start_model_archive_upload(*, session: Session, user_id: int | None, filename: str, incoming: Path,
                               size_bytes: int) -> ArchiveUploadView:
    """Record the zip written to `incoming` as an upload of this user and queue its import.

    Commits (the job must find the row) before it enqueues; the file is moved into the upload's
    own folder, or deleted when refused."""
    try:
        if user_id is None:
            raise EngageError("Log in to import a model.")
        name = check_archive_name(filename)
        if size_bytes <= 0:
            raise EngageError(f"“{name}” is empty.")
        if size_bytes > archives.MAX_UPLOAD_BYTES:
            raise EngageError(archive_size_refusal(size_bytes))
    except EngageError:
        incoming.unlink(missing_ok=True)
        raise
    upload = Upload(model_id=None, user_id=user_id, kind=ARCHIVE_KIND, filename=name, status=UploadStatus.queued,
                    message="Waiting for a worker to unpack the zip", result={"size_bytes": size_bytes})
    _keep(session, upload, incoming, "original.zip")
    try:
        _enqueue(session, upload, "import", "jobs.archives.import_model_archive")
    except EngageError:
        remove_files(upload.id)
        raise
    return _archive_view(session, upload)


def archive_upload_view(*, session: Session, user_id: int | None, upload_id: int) -> ArchiveUploadView:
    return _archive_view(session, _archive_upload(session, user_id, upload_id))


def latest_archive_upload(*, session: Session, user_id: int | None) -> ArchiveUploadView | None:
    """This user's latest model zip, so the page shows it again after a reload."""
    row = session.exec(select(Upload).where(Upload.user_id == user_id, Upload.kind == ARCHIVE_KIND)
                       .order_by(Upload.id.desc()).limit(1)).first()
    return _archive_view(session, row) if row is not None and user_id is not None else None


def _archive_upload(session: Session, user_id: int | None, upload_id: int) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None or upload.kind != ARCHIVE_KIND or user_id is None or upload.user_id != user_id:
        raise NotFound("This upload no longer exists. Reload the page.")
    return upload


def _archive_view(session: Session, upload: Upload) -> ArchiveUploadView:
    progress, lost = _job_progress(upload)
    if lost:
        upload.status, upload.message = UploadStatus.failed, WORKER_LOST_MESSAGE
        session.add(upload)
        session.flush()
        remove_files(upload.id)
    result = upload.result or {}
    model = session.get(EnergyModel, upload.model_id) if upload.model_id else None
    return ArchiveUploadView(
        id=upload.id, filename=upload.filename, status=getattr(upload.status, "value", str(upload.status)),
        message=upload.message, progress=progress, size_bytes=int(result.get("size_bytes") or 0),
        model_id=model.id if model else None, model_name=model.name if model else "",
        warnings=tuple(result.get("warnings") or ()))
