"""The Scenarios page: the list (new, copy, rename, delete) and the chosen scenario's nodes and links."""

from __future__ import annotations

import dataclasses

import reflex as rx

from engage_reflex.schemas.scenarios import EMPTY_DETAIL, ConstraintRow, ScenarioDetail, ScenarioSummary, SwitchRow
from engage_reflex.services import scenarios
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.locations import try_call

ON, PARTLY, OFF = "#0d9488", "#d97706", "#94a3b8"  # map colours: all on, some on, all off


class ScenariosState(ModelEditorState):
    loaded: bool = False
    error: str = ""
    scenarios: list[ScenarioSummary] = []
    selected_id: int = 0
    detail: ScenarioDetail = EMPTY_DETAIL
    rows: list[SwitchRow] = []
    constraints: list[ConstraintRow] = []
    markers: list[dict] = []
    lines: list[dict] = []
    # Filters of the nodes-and-links table ("" = any).
    location_filter: str = ""
    tech_filter: str = ""
    base_tech_filter: str = ""
    state_filter: str = ""
    # The new / copy / rename dialog: mode "new", "copy" or "rename".
    form_open: bool = False
    form_mode: str = "new"
    form_name: str = ""
    form_description: str = ""
    form_error: str = ""
    delete_open: bool = False

    @rx.event
    async def load(self):
        self.loaded, self.detail = False, EMPTY_DETAIL
        yield
        await self._reload(keep=False)

    async def _reload(self, keep: bool = True):
        self.error = ""
        try:
            self.scenarios = await self._call(scenarios.list_scenarios, model_id=self._current_model_id())
        except LoginRequired:
            return
        except EngageError as exc:
            self.error, self.loaded = exc.message, True
            return
        ids = [s.id for s in self.scenarios]
        if not (keep and self.selected_id in ids):
            base = next((s.id for s in self.scenarios if s.name == "base"), ids[0] if ids else 0)
            self.selected_id = base
        await self._load_detail()
        self.loaded = True

    async def _load_detail(self):
        if not self.selected_id:
            self.detail, self.rows, self.constraints = EMPTY_DETAIL, [], []
            return
        try:
            detail = await self._call(scenarios.scenario_detail, scenario_id=self.selected_id,
                                      location_filter=self.location_filter, tech_filter=self.tech_filter,
                                      base_tech=self.base_tech_filter, state=self.state_filter)
        except EngageError as exc:
            self.error = exc.message
            return
        # The rows and constraints are kept once (state lives in Redis): in their own vars.
        self.rows, self.constraints = detail.rows, detail.constraints
        self.detail = dataclasses.replace(detail, rows=[], constraints=[])
        self.markers = [{"id": loc.id, "name": f"{loc.name} ({loc.on} of {loc.total} on)", "lat": loc.lat,
                         "lon": loc.lon,
                         "color": ON if loc.on == loc.total and loc.total else PARTLY if loc.on else OFF}
                        for loc in detail.locations]
        self.lines = [{"id": ln.id, "name": f"{ln.name} ({'on' if ln.active else 'off'})", "from": ln.start,
                       "to": ln.end, "color": "#475569" if ln.active else OFF, "dashed": not ln.active}
                      for ln in detail.link_lines]

    @rx.event
    async def select(self, scenario_id: int):
        self.selected_id = int(scenario_id)
        await self._load_detail()

    @rx.event
    async def set_filter(self, which: str, value: str):
        if which in ("location_filter", "tech_filter", "base_tech_filter", "state_filter"):
            setattr(self, which, "" if value == "any" else value)
            await self._load_detail()

    async def _switch(self, service, **kwargs):
        result, toast = await self._edit(service, scenario_id=self.selected_id, **kwargs)
        await self._reload()
        return toast if result is None else rx.toast.success(result.message)

    @rx.event
    async def toggle_row(self, kind: str, row_id: int, active: bool):
        return await self._switch(scenarios.switch_rows, kind=kind, ids=[row_id], active=active)

    @rx.event
    async def switch_filtered(self, active: bool):
        return await self._switch(scenarios.switch_filtered, location_filter=self.location_filter,
                                  tech_filter=self.tech_filter, base_tech=self.base_tech_filter,
                                  state=self.state_filter, active=active)

    @rx.event
    async def map_click(self, location_id: int):
        """A click on a location's pin switches everything there off, or (if anything is off) on."""
        if not self.can_edit:
            return rx.toast.info("You can view this model but not change its scenarios.")
        location = next((loc for loc in self.detail.locations if loc.id == location_id), None)
        if location is not None:
            return await self._switch(scenarios.switch_location, location_id=location_id,
                                      active=location.on < location.total)

    @rx.event
    def open_form(self, mode: str):
        self.form_mode, self.form_error, self.form_open = mode, "", True
        current = self.detail.name
        self.form_name = {"new": "", "copy": f"{current} (copy)", "rename": current}.get(mode, "")
        self.form_description = self.detail.description if mode == "rename" else ""

    @rx.event
    def set_form_open(self, value: bool):
        self.form_open = value

    @rx.event
    async def save_form(self, form: dict):
        name, description = form.get("name", ""), form.get("description", "")
        if self.form_mode == "copy":
            result, problem, events = await try_call(self, scenarios.duplicate_scenario,
                                                     scenario_id=self.selected_id, name=name)
        elif self.form_mode == "rename":
            result, problem, events = await try_call(self, scenarios.rename_scenario, scenario_id=self.selected_id,
                                                     name=name, description=description)
        else:
            result, problem, events = await try_call(self, scenarios.create_scenario, model_id=self.loaded_model_id,
                                                     name=name, description=description)
        if result is None:
            self.form_error = problem
            return events
        self.form_open, self.selected_id = False, result.id
        await self._reload()
        verb = {"copy": "Copied to", "rename": "Saved"}.get(self.form_mode, "Created")
        return rx.toast.success(f"{verb} scenario “{result.name}”.")

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    async def confirm_delete(self):
        self.delete_open = False
        result, toast = await self._edit(scenarios.delete_scenario, scenario_id=self.selected_id)
        if result is None:
            return toast
        from engage_reflex.services.models import remove_run_folders

        remove_run_folders(result.run_folders)
        await self._reload(keep=False)
        runs = f" and its {result.runs_deleted} run(s)" if result.runs_deleted else ""
        return rx.toast.success(f"Deleted scenario “{result.name}”{runs}.")
