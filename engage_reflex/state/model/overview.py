"""The Overview page of a model: what it holds and what happened to it lately."""

from __future__ import annotations

import reflex as rx

from engage_reflex.schemas import LocationView, TechView
from engage_reflex.schemas.editor import ActivityView
from engage_reflex.services import activity, models
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ModelEditorState


class OverviewState(ModelEditorState):
    overview_loaded: bool = False
    overview_error: str = ""
    technologies: list[TechView] = []
    locations: list[LocationView] = []
    scenario_count: int = 0
    recent_activity: list[ActivityView] = []

    @rx.event
    async def load_overview(self):
        self.overview_loaded, self.overview_error = False, ""
        try:
            model_id = self._current_model_id()
            detail = await self._call(models.get_model_detail, model_id=model_id)
            self.recent_activity = await self._call(activity.list_activity, model_id=model_id, limit=20)
        except LoginRequired:
            return
        except EngageError as exc:
            self.overview_error, self.overview_loaded = exc.message, True
            return
        self.technologies, self.locations = detail.technologies, detail.locations
        self.scenario_count = len(detail.scenarios)
        self.overview_loaded = True
