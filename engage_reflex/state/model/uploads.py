"""The Timeseries page's upload panel: stream a CSV to disk, follow the worker, pick the columns."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time

import reflex as rx

from engage_reflex.schemas.uploads import UploadView
from engage_reflex.services import uploads
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.services.timeseries_csv import MAX_FILE_BYTES
from engage_reflex.state.auth import call_as_user
from engage_reflex.state.model.base import ModelEditorState

FOLLOW_EVERY_S = 0.3
FOLLOW_FOR_S = 900  # a busy queue may take a while; the page reloads the state when visited again
_WORKING = ("queued", "processing")


@dataclasses.dataclass(frozen=True)
class ColumnRow:
    index: int
    name: str
    kind: str
    samples: str
    keep: bool  # ticked by default: the numeric columns


@dataclasses.dataclass(frozen=True)
class ProblemRow:
    where: str  # "Line 12, column demand" / ""
    message: str
    refused: bool


def _int(form: dict, key: str, default: int) -> int:
    text = str(form.get(key) or "").strip()
    return int(text) if text.isdigit() else default


def _where(row: int | None, column: str | None) -> str:
    parts = ([f"Line {row}"] if row else []) + ([f"column “{column}”"] if column else [])
    return ", ".join(parts)


class TimeseriesUploadState(ModelEditorState):
    transfer_percent: int = 0  # the browser sending the file
    receiving: bool = False
    upload_id: int = 0
    upload_status: str = ""
    upload_step: str = ""
    upload_message: str = ""
    upload_percent: int = 0  # the worker reading it
    upload_filename: str = ""
    columns: list[ColumnRow] = []
    preview_rows: list[list[str]] = []
    problems: list[ProblemRow] = []
    timestamp_column: str = ""
    date_format: str = ""
    delimiter: str = ","
    decimal: str = "."
    header_row: int = 1
    data_rows: int = 0
    stored_names: list[str] = []

    def _show(self, view: UploadView) -> None:
        self.upload_id, self.upload_status, self.upload_step = view.id, view.status, view.step
        self.upload_message, self.upload_filename = view.message, view.filename
        self.upload_percent = int(round(view.progress * 100))
        self.columns = [ColumnRow(i, c.name, c.kind, ", ".join(c.samples[:3]),
                                  c.kind == "number" and c.name != view.timestamp_column)
                        for i, c in enumerate(view.columns)]
        self.preview_rows = [list(r) for r in view.preview[:5]]
        self.problems = [ProblemRow(_where(p.row, p.column), p.message, p.refused) for p in view.problems[:50]]
        self.timestamp_column, self.date_format, self.data_rows = view.timestamp_column, view.date_format, view.data_rows
        self.delimiter, self.decimal, self.header_row = view.delimiter or ",", view.decimal or ".", view.header_row
        self.stored_names = list(view.stored)

    def _forget(self) -> None:
        self.upload_id, self.upload_status, self.upload_message, self.upload_filename = 0, "", "", ""
        self.columns, self.preview_rows, self.problems, self.stored_names = [], [], [], []
        self.upload_percent = self.transfer_percent = 0

    @rx.event
    async def load_uploads(self):
        """The user's latest upload of this model that is not stored yet, where they left it."""
        self._forget()
        try:
            found = await self._call(uploads.latest_uploads, model_id=self._current_model_id(), limit=1)
        except (EngageError, LoginRequired):
            return
        if found:
            self._show(found[0])
            if found[0].status in _WORKING:
                return TimeseriesUploadState.follow

    @rx.event
    def transfer_progress(self, progress: dict):
        self.transfer_percent = int(round(float(progress.get("progress") or 0) * 100))

    @rx.event
    def file_refused(self, rejected: list):
        return rx.toast.error(f"Only one CSV, .tsv or .txt file of at most {MAX_FILE_BYTES // 2**20} MB at a time.",
                              duration=10000)

    @rx.event(background=True)
    async def receive_file(self, chunks: rx.UploadChunkIterator):
        """Write the file to disk as it arrives (never whole in memory), then queue its reading."""
        async with self:
            self._forget()
            self.receiving = True
            token, model_id = self.auth_token, self.loaded_model_id
        path, size, filename, problem = uploads.incoming_path(), 0, "", ""
        with open(path, "wb") as out:
            async for chunk in chunks:
                filename = filename or chunk.filename
                if chunk.filename != filename:
                    continue  # one file per upload; the drop zone takes one
                size += len(chunk.data)
                if size > MAX_FILE_BYTES:
                    problem = uploads.size_refusal(size) + " (the upload was stopped there)."
                    break
                out.write(chunk.data)
        try:
            if problem:
                raise EngageError(problem)
            view = await rx.run_in_thread(functools.partial(call_as_user, token, uploads.start_timeseries_upload, {
                "model_id": model_id, "filename": filename, "incoming": path, "size_bytes": size}))
        except (EngageError, LoginRequired) as exc:
            path.unlink(missing_ok=True)
            async with self:
                self.receiving = False
                return rx.toast.error(exc.message, duration=10000)
        async with self:
            self.receiving = False
            self._show(view)
        return TimeseriesUploadState.follow

    @rx.event(background=True)
    async def follow(self):
        """Poll the upload's row (and its job's progress) until the worker is done with it."""
        async with self:
            token, upload_id = self.auth_token, self.upload_id
        deadline = time.monotonic() + FOLLOW_FOR_S
        while upload_id and time.monotonic() < deadline:
            await asyncio.sleep(FOLLOW_EVERY_S)
            try:
                view = await rx.run_in_thread(functools.partial(
                    call_as_user, token, uploads.upload_view, {"upload_id": upload_id}))
            except (EngageError, LoginRequired):
                return
            async with self:
                if self.upload_id != upload_id:
                    return  # another file was dropped meanwhile
                self._show(view)
            if view.status not in _WORKING:
                if view.status == "succeeded":
                    from engage_reflex.state.model.timeseries import TimeseriesState

                    return [rx.toast.success(view.message), TimeseriesState.reload_after_upload(list(view.stored))]
                return

    @rx.event
    async def choose(self, form: dict):
        picked = [(c.name, str(form.get(f"series_name_{c.index}", ""))) for c in self.columns
                  if form.get(f"keep_{c.index}") in ("on", True, "true")]
        source = str(form.get("time_source", "column"))
        view, toast = await self._edit(
            uploads.choose_series, upload_id=self.upload_id, series=picked,
            timestamp_column=str(form.get("timestamp_column", "")) if source == "column" else "",
            start=str(form.get("start", "")) if source == "start" else "",
            step_minutes=_int(form, "step_minutes", 60), unit=str(form.get("unit", "")))
        if view is None:
            return toast
        self._show(view)
        return TimeseriesUploadState.follow

    @rx.event
    async def reread(self, form: dict):
        view, toast = await self._edit(
            uploads.reread_upload, upload_id=self.upload_id, delimiter=str(form.get("delimiter", ",")),
            decimal=str(form.get("decimal", ".")), header_row=_int(form, "header_row", 0))
        if view is None:
            return toast
        self._show(view)
        return TimeseriesUploadState.follow

    @rx.event
    async def discard(self):
        name, toast = await self._edit(uploads.discard_upload, upload_id=self.upload_id)
        if name is not None:
            self._forget()
            return rx.toast.success(f"Discarded {name}.")
        return toast
