"""The Overview's "Download as zip": export a scenario in a `short` job, then download it by a signed link."""

from __future__ import annotations

import asyncio
import functools
import time

import reflex as rx

from engage_reflex.schemas.archives import ExportView
from engage_reflex.services import archives, models
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import call_as_user
from engage_reflex.state.model.base import ModelEditorState

FOLLOW_EVERY_S = 0.3
FOLLOW_FOR_S = 900
_WORKING = ("queued", "processing")


class ModelExportState(ModelEditorState):
    export_scenarios: list[str] = []
    export_scenario_ids: dict[str, int] = {}
    export_choice: str = ""
    export_id: str = ""
    export_status: str = ""
    export_message: str = ""
    export_percent: int = 0

    def _show(self, view: ExportView) -> None:
        self.export_id, self.export_status, self.export_message = view.export_id, view.status, view.message
        self.export_percent = int(round(view.progress * 100))

    @rx.event
    async def load_export(self):
        self.export_id, self.export_status, self.export_message, self.export_percent = "", "", "", 0
        try:
            detail = await self._call(models.get_model_detail, model_id=self._current_model_id())
        except (EngageError, LoginRequired):
            self.export_scenarios, self.export_scenario_ids = [], {}
            return
        self.export_scenarios = [s.name for s in detail.scenarios]
        self.export_scenario_ids = {s.name: s.id for s in detail.scenarios}
        names = self.export_scenarios
        self.export_choice = "base" if "base" in names else (names[0] if names else "")

    @rx.event
    def set_export_choice(self, value: str):
        self.export_choice = value

    @rx.event
    async def start_export(self):
        scenario_id = self.export_scenario_ids.get(self.export_choice)
        if scenario_id is None:
            return rx.toast.error("Choose a scenario to download.")
        view, toast = await self._edit(archives.start_scenario_export, scenario_id=scenario_id)
        if view is None:
            return toast
        self._show(view)
        return ModelExportState.follow_export

    @rx.event(background=True)
    async def follow_export(self):
        """Poll the export job until its zip is ready, then hand the browser a signed link to it."""
        async with self:
            token, export_id = self.auth_token, self.export_id
        deadline = time.monotonic() + FOLLOW_FOR_S
        while export_id and time.monotonic() < deadline:
            await asyncio.sleep(FOLLOW_EVERY_S)
            try:
                view = await rx.run_in_thread(functools.partial(
                    call_as_user, token, archives.export_view, {"export_id": export_id}))
                link = ("", "")
                if view.status == "succeeded":
                    link = await rx.run_in_thread(functools.partial(
                        call_as_user, token, archives.export_download_link, {"export_id": export_id}))
            except (EngageError, LoginRequired) as exc:
                async with self:
                    self.export_status, self.export_message = "failed", exc.message
                return
            async with self:
                if self.export_id != export_id:
                    return  # another export was started meanwhile
                self._show(view)
            if view.status == "succeeded":
                return rx.download(url=link[0], filename=link[1])
            if view.status not in _WORKING:
                return
