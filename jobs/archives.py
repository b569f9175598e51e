"""RQ entry points of model zips (`short` queue): a zip becomes a model; a scenario becomes a zip.

`import_model_archive` takes an upload id, reloads the row and writes what happened to it (the
row is what My models shows); it imports as the uploading user (Upload.user_id), and the new
model and the row's "succeeded" go in one transaction. `export_scenario_zip` writes
`exports/<id>.zip` and reports a refusal in `job.meta["error"]` (exports have no table).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import ActivityLog, Scenario, Upload, UploadStatus
from engage_reflex.services import archives, storage, uploads
from engage_reflex.services.errors import EngageError
from jobs.uploads import ENGAGE_FAULT, _Progress

LOGGER = logging.getLogger(__name__)
NAME_TAKEN = "You already have a model called"
RENAME_HINT = (" The name comes from `config.init.name` in model.yaml (or from the folder's name): change it, or "
               "rename your model of that name on My models, then upload the zip again.")


class _Scaled:
    """Progress of one step mapped into [start, end] of the whole job."""

    def __init__(self, progress: _Progress, start: float, end: float):
        self.progress, self.start, self.end = progress, start, end

    def __call__(self, fraction: float) -> None:
        self.progress(self.start + (self.end - self.start) * fraction)


def _begin(upload_id: int) -> tuple[str, int | None, str] | None:
    with session_scope() as session:
        upload = session.get(Upload, upload_id)
        if upload is None or upload.kind != uploads.ARCHIVE_KIND:
            return None
        upload.status, upload.message = UploadStatus.processing, "Unpacking the zip"
        session.add(upload)
        return upload.stored_path, upload.user_id, upload.filename


def _fail(upload_id: int, message: str) -> None:
    with session_scope() as session:
        upload = session.get(Upload, upload_id)
        if upload is not None:
            upload.status, upload.message = UploadStatus.failed, message
            session.add(upload)


def import_model_archive(upload_id: int) -> str:
    """Unpack the stored zip safely and import the model in it as a new model of the uploader."""
    begun = _begin(upload_id)
    if begun is None:
        return "gone"
    stored, user_id, filename = begun
    progress = _Progress()
    # This worker's own folder for the unpacked model, never in the store (the zip may come from S3).
    unpacked = storage.machine_scratch() / "uploads" / str(int(upload_id)) / "unpacked"
    shutil.rmtree(unpacked.parent, ignore_errors=True)  # a killed earlier attempt's leftovers
    path = None
    try:
        path = uploads.local_file(stored)
        return _import(upload_id, path, unpacked, user_id, filename, progress)
    except FileNotFoundError:
        _fail(upload_id, f"{filename}: the uploaded zip is no longer stored; please upload it again.")
        return "refused"
    except EngageError as exc:  # the store does not answer
        _fail(upload_id, f"{filename}: {exc.message}")
        return "refused"
    finally:
        shutil.rmtree(unpacked.parent, ignore_errors=True)
        if path is not None:
            uploads.release_local_copy(path)
        uploads.remove_files(upload_id)


def _import(upload_id: int, path: Path, unpacked: Path, user_id: int | None, filename: str,
            progress: _Progress) -> str:
    if user_id is None:
        _fail(upload_id, "The account that uploaded this zip no longer exists; nothing was imported.")
        return "refused"
    try:
        root = archives.unpack_model_archive(archive=path, into=unpacked, progress=_Scaled(progress, 0.0, 0.3))
        _set_message(upload_id, "Reading the model with Calliope")
        progress(0.35)
        from engage_reflex.services.calliope_io import import_model_directory

        with session_scope() as session:
            report = import_model_directory(session=session, path=root, owner_id=user_id)
            for entry in session.exec(select(ActivityLog).where(ActivityLog.model_id == report.model_id,
                                                                ActivityLog.action == "imported")).all():
                entry.detail = f"Imported from {filename}"  # not the worker's temporary folder
                session.add(entry)
            upload = session.get(Upload, upload_id)
            if upload is None:  # discarded meanwhile: store nothing
                session.rollback()
                return "gone"
            upload.model_id, upload.status = report.model_id, UploadStatus.succeeded
            upload.message = f"Imported “{report.name}” from {filename}: {_summary(report)}."
            upload.result = {**(upload.result or {}), "model_id": report.model_id, "warnings": list(report.warnings)}
            session.add(upload)
    except EngageError as exc:
        message = exc.message + (RENAME_HINT if exc.message.startswith(NAME_TAKEN) else "")
        _fail(upload_id, f"{filename}: {message}")
        return "refused"
    except Exception:
        LOGGER.exception("importing model zip %s failed", upload_id)
        _fail(upload_id, ENGAGE_FAULT)
        return "error"
    return "imported"


def _summary(report) -> str:
    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    return ", ".join([count(report.locations, "location", "locations"),
                      count(report.technologies, "technology", "technologies"),
                      count(report.links, "link", "links"), count(report.scenarios, "scenario", "scenarios"),
                      count(report.timeseries, "timeseries", "timeseries")])


def _set_message(upload_id: int, message: str) -> None:
    with session_scope() as session:
        upload = session.get(Upload, upload_id)
        if upload is not None:
            upload.message = message
            session.add(upload)


def export_scenario_zip(export_id: str, scenario_id: int, user_id: int | None) -> str:
    """Export a scenario as a Calliope model folder, zipped under one top-level folder."""
    from rq import get_current_job

    from engage_reflex.services.calliope_io import export_scenario

    job, progress = get_current_job(), _Progress()
    zip_key, _ = archives.export_keys(export_id)
    scratch = storage.machine_scratch() / "exports"
    scratch.mkdir(parents=True, exist_ok=True)
    try:  # written on this machine, then put into the run files store the app serves it from
        with tempfile.TemporaryDirectory(dir=scratch, prefix=f".{export_id}-") as work:
            with session_scope() as session:
                definition = export_scenario(session=session, scenario_id=scenario_id, user_id=user_id)
                scenario = session.get(Scenario, scenario_id)
                model_id, scenario_name = scenario.model_id, scenario.name
            progress(0.4)
            folder = Path(work) / "model"
            definition.write_directory(folder)
            progress(0.7)
            filename = archives.export_filename(definition.name, scenario_name)
            archives.write_export_note(export_id=export_id, user_id=user_id, model_id=model_id,
                                       scenario_id=scenario_id, filename=filename)
            store = storage.get_store()
            # A local store gets the zip in place (written whole or not at all), S3 an upload of it.
            target = store.local_path(zip_key) if store.is_local else Path(work) / "export.zip"
            target.parent.mkdir(parents=True, exist_ok=True)
            archives.zip_folder(folder=folder, target=target, top=filename.removesuffix(".zip"))
            store.upload(target, zip_key)
    except EngageError as exc:
        _job_error(job, exc.message)
        archives.remove_export(export_id)
        return "refused"
    except Exception:
        LOGGER.exception("exporting scenario %s failed", scenario_id)
        _job_error(job, "Engage could not export this scenario because of an error in Engage itself. It has been "
                        "logged; please try again later or tell the administrators.")
        archives.remove_export(export_id)
        return "error"
    return "exported"


def _job_error(job, message: str) -> None:
    if job is None:
        return
    job.meta["error"] = message
    job.save_meta()

