"""Sharing a model: who may open it ("can view") or change it ("can edit"), and its owner.

Only the owner shares, changes a person's rights, takes them away or hands the model over to
someone it is shared with (who must have an account). A collaborator may leave a model shared
with them. An address without an account gets an invitation (and an email, where the app sends
email); once an account with that address is active, the invitation turns into the same rights
(`accept_invitations`, called when an account becomes usable). The owner and collaborators see who
else can open the model; a reader of a public model sees only its owner. Each change is written to
the model's activity log; none makes runs out of date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from engage_reflex.models import ActivityLog, Collaborator, EnergyModel, Invitation, User
from engage_reflex.models._common import utcnow
from engage_reflex.services import access, users
from engage_reflex.services.access import open_to_visitors, require_view
from engage_reflex.services.users import shown_name
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied

LOGGER = logging.getLogger(__name__)
INVITATION_JOB = "jobs.account_emails.send_invitation"


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    role: str  # "owner" | "editor" | "viewer"
    pending: bool = False  # invited, no account with this address yet


@dataclass(frozen=True)
class Sharing:
    model_id: int
    model_name: str
    members: tuple[Member, ...]  # the owner first, then people, then invitations
    can_manage: bool  # the user asking is the owner
    is_public: bool = False  # anyone may read it, without a login


def _role(can_edit: bool) -> str:
    return "editor" if can_edit else "viewer"


def _in_words(can_edit: bool) -> str:
    return "can edit" if can_edit else "can view"


def _owned(session: Session, user_id: int | None, model_id: int) -> EnergyModel:
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    if model.owner_id != user_id:
        raise PermissionDenied(f"Only the owner of “{model.name}” can change who may open it.")
    if model.snapshot_of_id is not None:
        raise PermissionDenied(f"“{model.name}” is a snapshot: whoever may open its model may open it. "
                               "Share the model itself.")
    return model


def _log(session: Session, model: EnergyModel, user_id: int | None, action: str, detail: str) -> None:
    """Who may open a model is not one of its inputs: logged, without making runs out of date."""
    session.add(ActivityLog(model_id=model.id, user_id=user_id, action=action, detail=detail, created_at=utcnow()))


@open_to_visitors
def get_sharing(*, session: Session, user_id: int | None, model_id: int) -> Sharing:
    """Who may open the model. Its owner and the people it is shared with see everyone; someone
    reading a public model sees only its owner (the others' addresses are not theirs to know)."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    owner = session.get(User, model.owner_id)
    if owner is not None and user_id is None:  # a visitor without a login: no addresses
        return Sharing(model_id=model.id, model_name=model.name, can_manage=False, is_public=model.is_public,
                       members=(Member(email="", name=shown_name(owner, reader_id=None), role="owner"),))
    members = [Member(email=owner.email, name=owner.display_name, role="owner")] if owner else []
    if access.role_of(session=session, user_id=user_id, model=model) == "viewer" and not session.exec(
            select(Collaborator.id).where(Collaborator.model_id == model.id,
                                          Collaborator.user_id == user_id)).first():
        return Sharing(model_id=model.id, model_name=model.name, members=tuple(members), can_manage=False,
                       is_public=model.is_public)
    people = session.exec(
        select(Collaborator, User).join(User, User.id == Collaborator.user_id)
        .where(Collaborator.model_id == model.id).order_by(User.email)
    ).all()
    members += [Member(email=u.email, name=u.display_name, role=_role(c.can_edit)) for c, u in people]
    invited = session.exec(
        select(Invitation).where(Invitation.model_id == model.id, Invitation.accepted_at.is_(None))
        .order_by(Invitation.email)
    ).all()
    members += [Member(email=i.email, name="", role=_role(i.can_edit), pending=True) for i in invited]
    return Sharing(model_id=model.id, model_name=model.name, members=tuple(members),
                   can_manage=user_id is not None and model.owner_id == user_id, is_public=model.is_public)


def set_public(*, session: Session, user_id: int | None, model_id: int, public: bool) -> Sharing:
    """Make the model readable by anyone, without a login (its runs and results too; their files
    downloadable), or private again. Only the owner decides; nobody but the people it is shared
    with can ever change it. Commits."""
    model = _owned(session, user_id, model_id)
    if bool(model.is_public) != bool(public):
        model.is_public = bool(public)
        session.add(model)
        _log(session, model, user_id, "Made public" if public else "Made private",
             "anyone may read it without logging in" if public else "only the people it is shared with may open it")
    session.flush()
    return get_sharing(session=session, user_id=user_id, model_id=model_id)


def _clean_email(email: str) -> str:
    email = users.normalise_email(email)
    if not email:
        raise EngageError("Please enter the email address of the person to share with.")
    if len(email) > 254 or not users.EMAIL_RE.match(email):
        raise EngageError(f"“{email}” does not look like an email address (for example name@example.org).")
    return email


def share(*, session: Session, user_id: int | None, model_id: int, email: str, can_edit: bool) -> Sharing:
    """Give the person with this address view or edit rights (or change the rights they have).
    Without an account yet, they are invited. Commits."""
    model = _owned(session, user_id, model_id)
    email = _clean_email(email)
    person = session.exec(select(User).where(User.email == email)).first()
    if person is not None and person.id == model.owner_id:
        raise EngageError(f"You own “{model.name}”: you can open and change it already.")
    if person is not None and person.password_hash.startswith(users.UNUSABLE_PASSWORD_PREFIX):
        raise EngageError(f"Nobody can log in as {email}, so the model cannot be shared with it.")
    invite_id = None
    if person is not None:
        collaborator = session.exec(select(Collaborator).where(Collaborator.model_id == model.id,
                                                               Collaborator.user_id == person.id)).first()
        before = None if collaborator is None else collaborator.can_edit
        collaborator = collaborator or Collaborator(model_id=model.id, user_id=person.id)
        collaborator.can_edit = bool(can_edit)
        session.add(collaborator)
    else:
        invitation = session.exec(select(Invitation).where(Invitation.model_id == model.id,
                                                           Invitation.email == email)).first()
        before = None if invitation is None else invitation.can_edit
        if invitation is None:
            invitation = Invitation(model_id=model.id, email=email, invited_by_id=user_id)
        invitation.can_edit = bool(can_edit)
        session.add(invitation)
        session.flush()
        invite_id = invitation.id if before is None else None
    if before is None:
        _log(session, model, user_id, "Shared", f"with {email} ({_in_words(can_edit)})"
             + (" — invited: no account yet" if person is None else ""))
    elif before != bool(can_edit):
        _log(session, model, user_id, "Sharing changed", f"{email} now {_in_words(can_edit)}")
    try:
        session.commit()
    except IntegrityError:  # the same address shared twice at the same moment
        session.rollback()
        raise EngageError(f"“{model.name}” was just shared with {email} from elsewhere. Please look again.")
    if invite_id is not None:
        _email_invitation(invite_id)
    return get_sharing(session=session, user_id=user_id, model_id=model_id)


def _email_invitation(invitation_id: int) -> None:
    """Queue the invitation email (where the app sends email). The invitation stands without it."""
    from engage_reflex.services import accounts
    from engage_reflex.services import queue as jobqueue

    if not accounts.email_enabled():
        return
    try:
        jobqueue.enqueue_email(INVITATION_JOB, invitation_id, description=f"email invitation {invitation_id}")
    except Exception:  # the invitation works without the email: the owner can tell them too
        LOGGER.warning("could not queue the email of invitation %s", invitation_id, exc_info=True)


def unshare(*, session: Session, user_id: int | None, model_id: int, email: str) -> Sharing:
    """Take the person's rights away (or withdraw their invitation). Commits."""
    model = _owned(session, user_id, model_id)
    email = users.normalise_email(email)
    gone = _remove(session, model, email)
    if not gone:
        raise NotFound(f"“{model.name}” is not shared with {email}.")
    _log(session, model, user_id, "Sharing ended", f"{email} can no longer open it")
    session.commit()
    return get_sharing(session=session, user_id=user_id, model_id=model_id)


def _remove(session: Session, model: EnergyModel, email: str) -> bool:
    person = session.exec(select(User).where(User.email == email)).first()
    rows = []
    if person is not None:
        rows += session.exec(select(Collaborator).where(Collaborator.model_id == model.id,
                                                        Collaborator.user_id == person.id)).all()
    rows += session.exec(select(Invitation).where(Invitation.model_id == model.id, Invitation.email == email,
                                                  Invitation.accepted_at.is_(None))).all()
    for row in rows:
        session.delete(row)
    return bool(rows)


def leave(*, session: Session, user_id: int, model_id: int) -> str:
    """A collaborator gives up a model shared with them; returns its name. Commits."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    collaborator = session.exec(select(Collaborator).where(Collaborator.model_id == model.id,
                                                           Collaborator.user_id == user_id)).first()
    if collaborator is None:
        raise EngageError("You own this model, or it is public: there is nothing to leave."
                          if model.owner_id == user_id or model.is_public else "This model is not shared with you.")
    session.delete(collaborator)
    me = session.get(User, user_id)
    _log(session, model, user_id, "Left", f"{me.email} no longer opens it")
    session.commit()
    return model.name


def transfer_ownership(*, session: Session, user_id: int | None, model_id: int, email: str) -> Sharing:
    """Hand the model over to a person it is shared with; the old owner keeps edit rights. Commits."""
    model = _owned(session, user_id, model_id)
    email = users.normalise_email(email)
    person = session.exec(select(User).where(User.email == email)).first()
    collaborator = None if person is None else session.exec(
        select(Collaborator).where(Collaborator.model_id == model.id, Collaborator.user_id == person.id)).first()
    if collaborator is None:
        raise EngageError(f"Share “{model.name}” with {email} first: the new owner must be someone it is "
                          "shared with, with an account.")
    snapshots = session.exec(select(EnergyModel).where(EnergyModel.snapshot_of_id == model.id)).all()
    for name in [model.name, *(s.name for s in snapshots)]:  # its snapshots go with it
        clash = session.exec(select(EnergyModel.id).where(EnergyModel.owner_id == person.id,
                                                          EnergyModel.name == name)).first()
        if clash is not None:
            raise EngageError(f"{email} already owns a model called “{name}”. Rename theirs or this one first.")
    old_owner = model.owner_id
    session.delete(collaborator)
    session.flush()
    for owned in (model, *snapshots):
        owned.owner_id = person.id
        session.add(owned)
    session.add(Collaborator(model_id=model.id, user_id=old_owner, can_edit=True))
    _log(session, model, user_id, "Owner changed", f"{email} owns it now; the previous owner can edit it")
    session.commit()
    return get_sharing(session=session, user_id=user_id, model_id=model_id)


def accept_invitations(session: Session, user: User) -> int:
    """The models shared with the address of an account that just became usable (no commit): each
    invitation becomes the same rights. How many."""
    now = utcnow()
    accepted = 0
    for invitation in session.exec(select(Invitation).where(Invitation.email == user.email,
                                                            Invitation.accepted_at.is_(None))).all():
        model = session.get(EnergyModel, invitation.model_id)
        exists = session.exec(select(Collaborator).where(Collaborator.model_id == invitation.model_id,
                                                         Collaborator.user_id == user.id)).first()
        if model is not None and model.owner_id != user.id and exists is None:
            session.add(Collaborator(model_id=invitation.model_id, user_id=user.id, can_edit=invitation.can_edit))
            _log(session, model, user.id, "Joined", f"{user.email} accepted the invitation "
                 f"({_in_words(invitation.can_edit)})")
            accepted += 1
        invitation.accepted_at = now
        session.add(invitation)
    session.flush()
    return accepted


def invitation_email(*, session: Session, invitation_id: int) -> tuple[str, str, str, bool] | None:
    """For the email job: (to, model name, who invited, can edit), or None once it is no longer open."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None:
        return None
    model = session.get(EnergyModel, invitation.model_id)
    inviter = session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    who = (inviter.display_name or inviter.email) if inviter else "An Engage user"
    return invitation.email, model.name if model else "", who, invitation.can_edit
