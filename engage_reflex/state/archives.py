"""My models' "Import a model zip": stream the zip to disk, queue its import, follow the worker."""

from __future__ import annotations

import asyncio
import functools
import time

import reflex as rx

from engage_reflex.schemas.archives import ArchiveUploadView
from engage_reflex.services import archives, uploads
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import AuthState, call_as_user

FOLLOW_EVERY_S = 0.3
FOLLOW_FOR_S = 900
_WORKING = ("queued", "processing")


class ModelArchiveState(AuthState):
    archive_receiving: bool = False
    archive_transfer_percent: int = 0  # the browser sending the zip
    archive_upload_id: int = 0
    archive_status: str = ""
    archive_message: str = ""
    archive_percent: int = 0  # the worker unpacking and importing it
    archive_filename: str = ""
    new_model_id: int = 0
    new_model_name: str = ""
    import_warnings: list[str] = []

    def _show(self, view: ArchiveUploadView) -> None:
        self.archive_upload_id, self.archive_status = view.id, view.status
        self.archive_message, self.archive_filename = view.message, view.filename
        self.archive_percent = int(round(view.progress * 100))
        self.new_model_id, self.new_model_name = view.model_id or 0, view.model_name
        self.import_warnings = list(view.warnings)

    def _forget(self) -> None:
        self.archive_upload_id, self.archive_status, self.archive_message, self.archive_filename = 0, "", "", ""
        self.archive_percent = self.archive_transfer_percent = self.new_model_id = 0
        self.new_model_name, self.import_warnings = "", []

    @rx.event
    async def load_archive(self):
        """A zip still being imported when the page is opened again is followed again."""
        self._forget()
        try:
            view = await self._call(uploads.latest_archive_upload)
        except (EngageError, LoginRequired):
            return
        if view is not None and view.status in _WORKING:
            self._show(view)
            return ModelArchiveState.follow_archive

    @rx.event
    def archive_transfer(self, progress: dict):
        self.archive_transfer_percent = int(round(float(progress.get("progress") or 0) * 100))

    @rx.event
    def archive_refused(self, rejected: list):
        return rx.toast.error(f"Choose one .zip file of at most {uploads.ARCHIVE_LIMIT_TEXT}.", duration=10000)

    @rx.event
    def dismiss_archive(self):
        self._forget()

    @rx.event(background=True)
    async def receive_archive(self, chunks: rx.UploadChunkIterator):
        """Write the zip to disk as it arrives (never whole in memory), then queue its import."""
        async with self:
            self._forget()
            self.archive_receiving = True
            token = self.auth_token
        path, size, filename, problem = uploads.incoming_path(), 0, "", ""
        with open(path, "wb") as out:
            async for chunk in chunks:
                filename = filename or chunk.filename
                if chunk.filename != filename:
                    continue  # one zip per upload
                size += len(chunk.data)
                if size > archives.MAX_UPLOAD_BYTES:
                    problem = uploads.archive_size_refusal(size) + " (the upload was stopped there)."
                    break
                out.write(chunk.data)
        try:
            if problem:
                raise EngageError(problem)
            view = await rx.run_in_thread(functools.partial(
                call_as_user, token, uploads.start_model_archive_upload,
                {"filename": filename, "incoming": path, "size_bytes": size}))
        except (EngageError, LoginRequired) as exc:
            path.unlink(missing_ok=True)
            async with self:
                self.archive_receiving = False
                self.archive_status, self.archive_message, self.archive_filename = "failed", exc.message, filename
            return
        async with self:
            self.archive_receiving = False
            self._show(view)
        return ModelArchiveState.follow_archive

    @rx.event(background=True)
    async def follow_archive(self):
        """Poll the upload's row (and its job's progress) until the worker is done with it."""
        async with self:
            token, upload_id = self.auth_token, self.archive_upload_id
        deadline = time.monotonic() + FOLLOW_FOR_S
        while upload_id and time.monotonic() < deadline:
            await asyncio.sleep(FOLLOW_EVERY_S)
            try:
                view = await rx.run_in_thread(functools.partial(
                    call_as_user, token, uploads.archive_upload_view, {"upload_id": upload_id}))
            except (EngageError, LoginRequired):
                return
            async with self:
                if self.archive_upload_id != upload_id:
                    return  # another zip was dropped meanwhile
                self._show(view)
            if view.status not in _WORKING:
                if view.status == "succeeded":
                    from engage_reflex.state.models import ModelsState

                    return ModelsState.load  # the new model's card
                return
