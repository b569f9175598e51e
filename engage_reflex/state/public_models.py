"""The "Public models" page: every model anyone may read, without a login (the samples among them)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import reflex as rx

from engage_reflex.services import models
from engage_reflex.services.errors import LoginRequired
from engage_reflex.state.auth import AuthState, call_as_user
from engage_reflex.state.models import ModelCard, card_of


def read_public_models(token: str):
    """The public models, by name (blocking); a login that ended reads as a visitor's."""
    try:
        found = call_as_user(token, models.list_models, {})
    except LoginRequired:
        found = call_as_user("", models.list_models, {})
    return sorted((m for m in found if m.is_public), key=lambda m: (m.name.lower(), m.id))


class PublicModelsState(AuthState):
    public_models: list[ModelCard] = []
    public_loaded: bool = False

    @rx.event
    async def load(self):
        found = await rx.run_in_thread(functools.partial(read_public_models, self.auth_token))
        now = datetime.now(UTC)
        self.public_models, self.public_loaded = [card_of(m, now) for m in found], True
