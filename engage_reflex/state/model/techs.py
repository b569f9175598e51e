"""The Technologies page: the list by base tech, the New and Copy dialogs."""

from __future__ import annotations

import dataclasses

import reflex as rx

from engage_reflex.schemas.techs import TechSummary
from engage_reflex.services import techs
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState

# Option lists for the pages (module constants, not state vars).
BASE_TECHS = techs.BASE_TECHS
BASE_TECH_HINTS = techs.BASE_TECH_HINTS


@dataclasses.dataclass(frozen=True)
class Choice:
    value: str
    label: str


class TechsState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    by_base: dict[str, list[TechSummary]] = {}
    tech_count: int = 0
    carriers: list[str] = []
    # New technology dialog
    new_open: bool = False
    new_base: str = "supply"
    new_error: str = ""
    # Copy dialog
    copy_open: bool = False
    copy_models: list[Choice] = []
    copy_model: str = ""
    copy_techs: list[Choice] = []
    copy_tech: str = ""
    copy_error: str = ""

    @rx.event
    async def load(self):
        self.loaded = False
        await self._reload()

    async def _reload(self):
        self.error = ""
        try:
            model_id = self._current_model_id()
            rows = await self._call(techs.list_techs, model_id=model_id)
            self.carriers = await self._call(techs.carrier_names, model_id=model_id)
        except LoginRequired:
            return
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        groups: dict[str, list[TechSummary]] = {base: [] for base in techs.BASE_TECHS}
        for row in rows:
            groups.setdefault(row.base_tech, []).append(row)
        self.by_base, self.tech_count, self.loaded = groups, len(rows), True

    # -- new technology

    @rx.event
    def set_new_open(self, value: bool):
        self.new_open, self.new_error = value, ""

    @rx.event
    def set_new_base(self, value: str):
        self.new_base, self.new_error = value, ""

    @rx.event
    async def create(self, form: dict):
        carrier = form.get("carrier", "")
        ins = [form.get("carrier_in", "") or carrier]
        outs = [form.get("carrier_out", "") or carrier]
        try:
            tech = await self._call(techs.create_tech, model_id=self.loaded_model_id, base_tech=self.new_base,
                                    name=form.get("name", ""), display_name=form.get("display_name", ""),
                                    color=form.get("color", ""), carriers_in=ins if self.new_base != "supply" else [],
                                    carriers_out=outs if self.new_base != "demand" else [])
        except LoginRequired as exc:
            return rx.toast.error(exc.message)
        except EngageError as exc:
            self.new_error = exc.message
            return
        self.new_open = False
        await self._reload()
        return [rx.toast.success(f"Added technology “{tech.display_name}”."),
                rx.redirect(f"/models/{self.loaded_model_id}/techs/{tech.id}")]

    # -- copy a technology

    @rx.event
    async def open_copy(self):
        self.copy_error, self.copy_tech, self.copy_techs = "", "", []
        try:
            models = await self._call(techs.copyable_models)
        except EngageError as exc:
            return rx.toast.error(exc.message)
        self.copy_models = [Choice(value=str(i), label=name) for i, name in models]
        self.copy_model = str(self.loaded_model_id) if any(
            c.value == str(self.loaded_model_id) for c in self.copy_models) else ""
        self.copy_open = True
        if self.copy_model:
            await self._load_copy_techs()

    @rx.event
    def set_copy_open(self, value: bool):
        self.copy_open = value

    async def _load_copy_techs(self):
        try:
            rows = await self._call(techs.list_techs, model_id=int(self.copy_model))
        except EngageError as exc:
            self.copy_error, self.copy_techs = exc.message, []
            return
        self.copy_techs = [Choice(value=str(t.id), label=f"{t.display_name} ({t.base_tech})") for t in rows]
        self.copy_tech = self.copy_techs[0].value if self.copy_techs else ""

    @rx.event
    async def set_copy_model(self, value: str):
        self.copy_model, self.copy_error = value, ""
        await self._load_copy_techs()

    @rx.event
    def set_copy_tech(self, value: str):
        self.copy_tech, self.copy_error = value, ""

    @rx.event
    async def copy(self, form: dict):
        if not self.copy_tech:
            self.copy_error = "Choose a model and one of its technologies to copy."
            return
        try:
            tech, message = await self._call(techs.copy_tech, model_id=self.loaded_model_id,
                                             source_tech_id=int(self.copy_tech), name=form.get("copy_name") or None)
        except LoginRequired as exc:
            return rx.toast.error(exc.message)
        except EngageError as exc:
            self.copy_error = exc.message
            return
        self.copy_open = False
        await self._reload()
        return rx.toast.success(message + ".")
