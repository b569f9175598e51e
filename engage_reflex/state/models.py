"""The "My models" page: the models the user may open (read in a worker thread, off the event loop)."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import ModelSummary
from engage_reflex.services import models
from engage_reflex.state.auth import AuthState, lookup_user


def list_models(token: str) -> tuple[str, list[ModelSummary]] | None:
    """(the user's e-mail, the models they may open); None without a login. Blocking."""
    user = lookup_user(token)
    if user is None:
        return None
    with session_scope() as session:
        return user.email, models.list_models(session=session, user_id=user.id)


class ModelsState(AuthState):
    own_models: list[ModelSummary] = []
    other_models: list[ModelSummary] = []
    loaded: bool = False

    @rx.event
    async def load(self):
        found = await rx.run_in_thread(functools.partial(list_models, self.auth_token))
        if found is None:
            return
        self.user_email, summaries = found
        self.own_models = [m for m in summaries if m.is_own]
        self.other_models = [m for m in summaries if not m.is_own]
        self.loaded = True
