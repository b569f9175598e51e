"""The "My models" page: the models the user may open."""

from __future__ import annotations

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import ModelSummary
from engage_reflex.services import models
from engage_reflex.state.auth import AuthState


class ModelsState(AuthState):
    own_models: list[ModelSummary] = []
    other_models: list[ModelSummary] = []
    loaded: bool = False

    @rx.event
    def load(self):
        user = self._current_user()
        if user is None:
            return
        with session_scope() as session:
            summaries = models.list_models(session=session, user_id=user.id)
        self.own_models = [m for m in summaries if m.is_own]
        self.other_models = [m for m in summaries if not m.is_own]
        self.loaded = True
