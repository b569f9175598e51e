"""Who may see and change a model: the owner, collaborators, and (read-only) everyone for public models."""

from __future__ import annotations

from sqlmodel import Session, select

from engage_reflex.models import Collaborator, EnergyModel
from engage_reflex.services.errors import NotVisible, PermissionDenied


def open_to_visitors(service):
    """Mark a read service that also answers a visitor without a login (user_id None). Such a service
    shows a visitor only what a public model lets everyone see (its require_view refuses the rest);
    unmarked services are never called without a logged-in user (state.auth.call_as_user)."""
    service.open_to_visitors = True
    return service


def _model_or_404(session: Session, model_id: int) -> EnergyModel:
    model = session.get(EnergyModel, model_id)
    if model is None:
        raise NotVisible(f"There is no model with id {model_id}.")
    return model


def _snapshot_source(session: Session, model: EnergyModel) -> EnergyModel | None:
    """The model a snapshot was taken of (None for other models, or once the source is gone)."""
    return session.get(EnergyModel, model.snapshot_of_id) if model.snapshot_of_id is not None else None


def can_edit(*, session: Session, user_id: int | None, model: EnergyModel) -> bool:
    """Whether the user may change the model. Nobody changes a snapshot: it stays as it was taken."""
    if user_id is None or model.snapshot_of_id is not None:
        return False
    if model.owner_id == user_id:
        return True
    collab = session.exec(
        select(Collaborator).where(Collaborator.model_id == model.id, Collaborator.user_id == user_id)
    ).first()
    return bool(collab and collab.can_edit)


def can_view(*, session: Session, user_id: int | None, model: EnergyModel) -> bool:
    """Owner, collaborators, everyone for a public model; a snapshot is seen by whoever sees its model."""
    if model.is_public or (user_id is not None and model.owner_id == user_id):
        return True
    source = _snapshot_source(session, model)
    if source is not None:
        return can_view(session=session, user_id=user_id, model=source)
    if user_id is None:
        return False
    collab = session.exec(
        select(Collaborator).where(Collaborator.model_id == model.id, Collaborator.user_id == user_id)
    ).first()
    return collab is not None


def is_member(*, session: Session, user_id: int | None, model: EnergyModel) -> bool:
    """The owner or someone the model is shared with (of a snapshot: of its model). Only members see
    each other's email addresses; a public model's other readers see names."""
    if user_id is None:
        return False
    source = _snapshot_source(session, model)
    if source is not None:
        return is_member(session=session, user_id=user_id, model=source)
    if model.owner_id == user_id:
        return True
    return session.exec(select(Collaborator.id).where(Collaborator.model_id == model.id,
                                                      Collaborator.user_id == user_id)).first() is not None


def require_view(*, session: Session, user_id: int | None, model_id: int) -> EnergyModel:
    model = _model_or_404(session, model_id)
    if not can_view(session=session, user_id=user_id, model=model):
        # Same words as a missing model: do not reveal that a private model exists.
        raise NotVisible(f"There is no model with id {model_id}.")
    return model


def require_edit(*, session: Session, user_id: int | None, model_id: int) -> EnergyModel:
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    if model.snapshot_of_id is not None:
        raise PermissionDenied(f"“{model.name}” is a snapshot: it stays as it was taken. "
                               "Make a copy of it to change it.")
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
    if model.is_public:
        return "viewer"
    source = _snapshot_source(session, model)  # a snapshot is read by whoever reads its model
    return "viewer" if source is not None and can_view(session=session, user_id=user_id, model=source) else None
