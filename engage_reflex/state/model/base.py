"""The current model and the user's role in it, shared by every page of the model editor.

Area states subclass ModelEditorState (Reflex substates), so the header is loaded once per
page visit and `can_edit` is the same everywhere. Edit handlers go through `_edit`, which
calls one service as the logged-in user off the event loop and answers with a toast.
"""

from __future__ import annotations

import logging

import reflex as rx

from engage_reflex.schemas.editor import ROLE_LABELS
from engage_reflex.services import models
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import LOGIN_ROUTE, AuthState

log = logging.getLogger(__name__)


def parse_model_id(raw) -> int:
    text = str(raw or "")
    if not text.isdigit():
        raise EngageError(f"“{text}” is not a model number. Open a model from My models.")
    return int(text)


class ModelEditorState(AuthState):
    header_loaded: bool = False
    header_error: str = ""
    loaded_model_id: int = 0
    model_name: str = ""
    model_description: str = ""
    model_time_zone: str = "UTC"
    model_is_public: bool = False
    model_owner_email: str = ""
    role: str = ""
    can_edit: bool = False
    # A snapshot: the model it was taken of (0 when this is no snapshot, or that model is gone).
    is_snapshot: bool = False
    snapshot_of_id: int = 0
    snapshot_of_name: str = ""

    @rx.var
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, "")

    def _current_model_id(self) -> int:
        return parse_model_id(self.model_id)

    @rx.event
    async def load_header(self):
        """First on_load handler of every editor page (after AuthState.identify): visitors read public
        models; for anything else they are sent to the login page."""
        self.header_error = ""
        try:
            model_id = self._current_model_id()
            header = await self._call(models.get_model_header, model_id=model_id)
        except LoginRequired:  # a visitor asked for a model that is not public: a login may show it
            self.header_loaded = False
            return self._to_login()
        except EngageError as exc:
            self.header_error, self.header_loaded, self.can_edit = exc.message, True, False
            return
        self.loaded_model_id = header.id
        self.model_name, self.model_description = header.name, header.description
        self.model_time_zone, self.model_is_public = header.time_zone, header.is_public
        self.model_owner_email, self.role, self.can_edit = header.owner_email, header.role, header.can_edit
        self.is_snapshot, self.snapshot_of_id = header.is_snapshot, header.snapshot_of_id
        self.snapshot_of_name = header.snapshot_of_name
        self.header_loaded = True

    async def _edit(self, service, /, *, success: str = "", **kwargs):
        """Run one editing service; returns (result, toast). The toast says what happened or why not."""
        try:
            result = await self._call(service, **kwargs)
        except LoginRequired as exc:
            return None, [rx.toast.error(exc.message), rx.redirect(LOGIN_ROUTE)]
        except EngageError as exc:
            return None, rx.toast.error(exc.message, duration=10000)
        except Exception:
            log.exception("%s failed", getattr(service, "__name__", service))
            return None, rx.toast.error("Something went wrong on our side; nothing was changed. Please try again.")
        return result, (rx.toast.success(success) if success else None)
