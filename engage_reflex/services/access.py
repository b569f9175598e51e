"""Who may see and change a model: the owner, collaborators, and (read-only) everyone for public models."""

from __future__ import annotations

from sqlmodel import Session, select

from engage_reflex.models import Collaborator, EnergyModel
from engage_reflex.services.errors import NotFound, PermissionDenied


def open_to_visitors(service):
    """Mark a read service that also answers a visitor without a login (user_id None). Such a service
    shows a visitor only what a public model lets everyone see (its require_view refuses the rest);
    unmarked services are never called without a logged-in user (state.auth.call_as_user)."""
    service.open_to_visitors = True
    return service


def _model_or_404(session: Session, model_id: int) -> EnergyModel:
    model = session.get(EnergyModel, model_id)
    if model is None:
        raise NotFound(f"There is no model with id {model_id}.")
    return model


def can_edit(*, session: Session, user_id: int | None, model: EnergyModel) -> bool:
    if user_id is None:
        return False
    if model.owner_id == user_id:
        return True
    collab = session.exec(
        select(Collaborator).where(Collaborator.model_id == model.id, Collaborator.user_id == user_id)
    ).first()
    return bool(collab and collab.can_edit)


def can_view(*, session: Session, user_id: int | None, model: EnergyModel) -> bool:
    if model.is_public or (user_id is not None and model.owner_id == user_id):
        return True
    if user_id is None:
        return False
    collab = session.exec(
        select(Collaborator).where(Collaborator.model_id == model.id, Collaborator.user_id == user_id)
    ).first()
    return collab is not None


def require_view(*, session: Session, user_id: int | None, model_id: int) -> EnergyModel:
    model = _model_or_404(session, model_id)
    if not can_view(session=session, user_id=user_id, model=model):
        # Same words as a missing model: do not reveal that a private model exists.
        raise NotFound(f"There is no model with id {model_id}.")
    return model


def require_edit(*, session: Session, user_id: int | None, model_id: int) -> EnergyModel:
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    if not can_edit(session=session, user_id=user_id, model=model):
        raise PermissionDenied(
            f"You can view “{model.name}” but not change it. Ask its owner for edit rights, "
            "or make your own copy."
        )
    return model


def role_of(*, session: Session, user_id: int | None, model: EnergyModel) -> str | None:
    """"owner", "editor" or "viewer" for a user who may see the model; None otherwise."""
    if user_id is not None and model.owner_id == user_id:
        return "owner"
    collab = None
    if user_id is not None:
        collab = session.exec(
            select(Collaborator).where(Collaborator.model_id == model.id, Collaborator.user_id == user_id)
        ).first()
    if collab is not None:
        return "editor" if collab.can_edit else "viewer"
    return "viewer" if model.is_public else None
