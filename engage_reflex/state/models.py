"""The "My models" page: the models the user may open, and new / copy / rename / delete.

Every database call runs in a worker thread as the logged-in user (AuthState._call).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from datetime import UTC, datetime

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import ModelSummary
from engage_reflex.schemas.editor import ROLE_LABELS
from engage_reflex.services import models
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state._time import changed_ago, zone_options
from engage_reflex.state.auth import LOGIN_ROUTE, AuthState, lookup_user

log = logging.getLogger(__name__)

@dataclasses.dataclass(frozen=True)
class ModelCard:
    id: int
    name: str
    description: str
    owner_email: str
    is_own: bool
    is_shared: bool
    role: str
    role_label: str
    changed: str
    locations: int
    technologies: int
    scenarios: int
    unread: int = 0  # changes, runs and comments of others since the user last opened it


def card_of(m: ModelSummary, now: datetime) -> ModelCard:
    return ModelCard(id=m.id, name=m.name, description=m.description, owner_email=m.owner_email, is_own=m.is_own,
                     is_shared=m.is_shared, role=m.role, role_label=ROLE_LABELS.get(m.role, "View only"),
                     changed=changed_ago(m.updated_at, now), locations=m.locations, technologies=m.technologies,
                     scenarios=m.scenarios, unread=m.unread)


def list_models(token: str) -> tuple[str, list[ModelSummary]] | None:
    """(the user's e-mail, the models they may open); None without a login. Blocking."""
    user = lookup_user(token)
    if user is None:
        return None
    with session_scope() as session:
        return user.email, models.list_models(session=session, user_id=user.id)


class ModelsState(AuthState):
    own_models: list[ModelCard] = []
    other_models: list[ModelCard] = []
    loaded: bool = False
    browser_zone: str = ""
    new_zone: str = "UTC"
    new_open: bool = False
    rename_open: bool = False
    delete_open: bool = False
    # The model the rename / delete dialog is about.
    target_id: int = 0
    target_name: str = ""

    @rx.var
    def time_zones(self) -> list[str]:
        return zone_options(self.browser_zone)

    @rx.event
    async def load(self):
        found = await rx.run_in_thread(functools.partial(list_models, self.auth_token))
        if found is None:
            return
        self.user_email, summaries = found
        now = datetime.now(UTC)
        self.own_models = [card_of(m, now) for m in summaries if m.is_own]
        self.other_models = [card_of(m, now) for m in summaries if not m.is_own]
        self.loaded = True

    async def _do(self, service, /, *, success: str = "", **kwargs):
        """Run one service as the user: (result, toast); the toast says what happened or why not."""
        try:
            result = await self._call(service, **kwargs)
        except LoginRequired as exc:
            return None, [rx.toast.error(exc.message), rx.redirect(LOGIN_ROUTE)]
        except EngageError as exc:
            return None, rx.toast.error(exc.message, duration=10000)
        except Exception:
            log.exception("%s failed", getattr(service, "__name__", service))
            return None, rx.toast.error("Something went wrong on our side; nothing was changed. Please try again.")
        return result, (rx.toast.success(success.format(result=result)) if success else None)

    @rx.event
    def set_browser_zone(self, zone: str):
        """The browser's own zone is offered and chosen first (the service checks it)."""
        self.browser_zone = str(zone or "")[:64]
        self.new_zone = self.browser_zone or "UTC"

    @rx.event
    def set_new_zone(self, zone: str):
        self.new_zone = zone

    @rx.event
    def set_new_open(self, value: bool):
        self.new_open = value

    @rx.event
    def open_new(self):
        self.new_open, self.new_zone = True, "UTC"
        return rx.call_script("Intl.DateTimeFormat().resolvedOptions().timeZone",
                              callback=ModelsState.set_browser_zone)

    @rx.event
    async def create_model(self, form: dict):
        result, toast = await self._do(models.create_model, name=form.get("name", ""),
                                       description=form.get("description", ""),
                                       time_zone=form.get("time_zone") or self.new_zone,
                                       success="Created “{result.name}”.")
        if result is None:
            return toast
        self.new_open = False
        return [toast, rx.redirect(f"/models/{result.id}")]

    @rx.event
    async def copy_model(self, model_id: int):
        result, toast = await self._do(models.copy_model, source_model_id=int(model_id),
                                       success="Made “{result.name}”. It is yours to change.")
        return toast if result is None else [toast, rx.redirect(f"/models/{result.id}")]

    @rx.event
    def open_rename(self, model_id: int, name: str):
        self.target_id, self.target_name, self.rename_open = int(model_id), name, True

    @rx.event
    def set_rename_open(self, value: bool):
        self.rename_open = value

    @rx.event
    async def rename_model(self, form: dict):
        result, toast = await self._do(models.rename_model, model_id=self.target_id, name=form.get("name", ""),
                                       success="Renamed to “{result.name}”.")
        if result is None:
            return toast
        self.rename_open = False
        return [toast, ModelsState.load]

    @rx.event
    def open_delete(self, model_id: int, name: str):
        self.target_id, self.target_name, self.delete_open = int(model_id), name, True

    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = value

    @rx.event
    async def delete_model(self):
        result, toast = await self._do(models.delete_model, model_id=self.target_id,
                                       success="Deleted “{result.name}” with its runs and results.")
        self.delete_open = False
        if result is None:
            return toast
        # The delete has committed (one transaction in _call): now the run folders can go.
        await rx.run_in_thread(functools.partial(models.remove_run_folders, result.run_folders))
        return [toast, ModelsState.load]
