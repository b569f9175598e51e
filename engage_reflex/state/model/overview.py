"""The Overview page of a model: what it holds, its details (editable), copy and delete."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.schemas import LocationView, TechView
from engage_reflex.services import models
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.feed import FeedState
from engage_reflex.state._time import zone_options



class OverviewState(ModelEditorState):
    overview_loaded: bool = False
    overview_error: str = ""
    technologies: list[TechView] = []
    locations: list[LocationView] = []
    scenario_count: int = 0
    counts: dict[str, int] = {}
    delete_open: bool = False

    @rx.var
    def time_zones(self) -> list[str]:
        return zone_options(self.model_time_zone)

    @rx.var
    def is_owner(self) -> bool:
        return self.role == "owner"

    @rx.event
    async def load_overview(self):
        self.overview_loaded, self.overview_error = False, ""
        try:
            model_id = self._current_model_id()
            detail = await self._call(models.get_model_detail, model_id=model_id)
            counts = await self._call(models.get_model_counts, model_id=model_id)
        except LoginRequired:
            return
        except EngageError as exc:
            self.overview_error, self.overview_loaded = exc.message, True
            return
        self.technologies, self.locations = detail.technologies, detail.locations
        self.scenario_count = counts.scenarios
        self.counts = {"Locations": counts.locations, "Technologies": counts.technologies, "Nodes": counts.nodes,
                       "Links": counts.links, "Scenarios": counts.scenarios}
        self.overview_loaded = True

    @rx.event
    async def save_details(self, form: dict):
        result, toast = await self._edit(
            models.edit_model, model_id=self.loaded_model_id, name=form.get("name", ""),
            description=form.get("description", ""), time_zone=form.get("time_zone") or self.model_time_zone,
            success="Saved the model's details.")
        if result is None:
            return toast
        self.model_name, self.model_description, self.model_time_zone = (result.name, result.description,
                                                                         result.time_zone)
        return [toast, FeedState.load_feed]

    @rx.event
    async def copy_model(self):
        result, toast = await self._edit(models.copy_model, source_model_id=self.loaded_model_id,
                                         success="Made your own copy. It is yours to change.")
        return toast if result is None else [toast, rx.redirect(f"/models/{result.id}")]

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    async def delete_model(self):
        self.delete_open = False
        result, toast = await self._edit(models.delete_model, model_id=self.loaded_model_id)
        if result is None:
            return toast
        # The delete has committed (one transaction in _call): now the run folders can go.
        await rx.run_in_thread(functools.partial(models.remove_run_folders, result.run_folders))
        return [rx.toast.success(f"Deleted “{result.name}” with its runs and results."), rx.redirect("/models")]
