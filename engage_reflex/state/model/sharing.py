"""The Sharing section of a model's Overview: who may open or change the model, and the owner's
controls (share by address, change rights, stop sharing, hand the model over); others may leave."""

from __future__ import annotations

import dataclasses

import reflex as rx

from engage_reflex.services import sharing
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.model.base import ROLE_LABELS, ModelEditorState

RIGHTS = {"viewer": "Can view", "editor": "Can edit"}


@dataclasses.dataclass
class MemberRow:
    email: str = ""
    name: str = ""
    role: str = ""  # "owner" | "editor" | "viewer"
    label: str = ""  # the role in words, "(invited)" added for an address without an account
    pending: bool = False
    is_me: bool = False


class SharingState(ModelEditorState):
    members: list[MemberRow] = []
    can_manage: bool = False
    is_public: bool = False
    share_error: str = ""
    transfer_email: str = ""  # the member the owner is about to hand the model to ("" = dialog closed)

    @rx.var
    def can_leave(self) -> bool:
        """A collaborator (not the owner, nor someone reading a public model) may leave."""
        return any(m.is_me and m.role != "owner" and not m.pending for m in self.members)

    def _show(self, view: sharing.Sharing) -> None:
        me = self.user_email
        self.members = [MemberRow(email=m.email, name=m.name, role=m.role, pending=m.pending, is_me=m.email == me,
                                  label=ROLE_LABELS.get(m.role, m.role) + (" (invited)" if m.pending else ""))
                        for m in view.members]
        self.can_manage, self.is_public = view.can_manage, view.is_public
        self.model_is_public = view.is_public  # the header's badge

    @rx.event
    async def load_sharing(self):
        self.share_error = ""
        try:
            view = await self._call(sharing.get_sharing, model_id=self._current_model_id())
        except (LoginRequired, EngageError):
            return  # the page says why (its header and overview loads)
        self._show(view)

    @rx.event
    async def share(self, form: dict):
        email, role = str(form.get("share_email", "")).strip(), str(form.get("share_rights", "viewer"))
        try:
            view = await self._call(sharing.share, model_id=self.loaded_model_id, email=email,
                                    can_edit=role == "editor")
        except LoginRequired as exc:
            return rx.toast.error(exc.message)
        except EngageError as exc:
            self.share_error = exc.message
            return
        self.share_error = ""
        self._show(view)
        invited = any(m.pending and m.email == email.lower() for m in view.members)
        words = RIGHTS.get(role, "Can view").lower()
        return [rx.toast.success(f"Invited {email.lower()} ({words}): the model is theirs to open once they "
                                 "register with that address." if invited else
                                 f"Shared with {email.lower()} ({words})."),
                rx.call_script("document.getElementById('share-form').reset()")]

    @rx.event
    async def set_public(self, public: bool):
        view, toast = await self._edit(
            sharing.set_public, model_id=self.loaded_model_id, public=bool(public),
            success="Public now: anyone can read this model, its runs and results, without logging in." if public
            else "Private again: only the people it is shared with can open it.")
        if view is not None:
            self._show(view)
        return toast

    @rx.event
    async def set_rights(self, email: str, role: str):
        view, toast = await self._edit(sharing.share, model_id=self.loaded_model_id, email=email,
                                       can_edit=role == "editor",
                                       success=f"{email} {RIGHTS.get(role, 'Can view').lower()} now.")
        if view is not None:
            self._show(view)
        return toast

    @rx.event
    async def stop_sharing(self, email: str):
        view, toast = await self._edit(sharing.unshare, model_id=self.loaded_model_id, email=email,
                                       success=f"{email} can no longer open this model.")
        if view is not None:
            self._show(view)
        return toast

    @rx.event
    def ask_transfer(self, email: str):
        self.transfer_email = email

    @rx.event
    def set_transfer_open(self, value: bool):
        if not value:
            self.transfer_email = ""

    @rx.event
    async def transfer(self):
        email, self.transfer_email = self.transfer_email, ""
        view, toast = await self._edit(sharing.transfer_ownership, model_id=self.loaded_model_id, email=email,
                                       success=f"{email} owns this model now; you can still edit it.")
        if view is None:
            return toast
        self._show(view)
        self.role, self.can_edit = "editor", True  # what the header shows until the next page load
        return toast

    @rx.event
    async def leave(self):
        name, toast = await self._edit(sharing.leave, model_id=self.loaded_model_id)
        if name is None:
            return toast
        return [rx.toast.success(f"You left “{name}”: it is no longer in your models."), rx.redirect("/models")]
