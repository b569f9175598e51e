"""Accounts by email: activation, a forgotten password, the profile, logging out everywhere.

When the app can send email (SENDGRID_API_KEY is set), a new account stays inactive until its
owner follows the link in the activation email (it works for 48 hours; a new one can be asked for
from the login page). Without email, accounts are active at once: nobody could activate them.

A forgotten password is replaced through an emailed link that works for one hour, once; using it
ends every login session of the account (and confirms its address, if it was not yet).

Asking for a link makes an `account_links` row (at most LINKS_PER_HOUR per account and kind) and
enqueues the short-queue job that emails it (jobs/account_emails.py). The job makes the token,
keeps only its sha256 on the row and puts the token in the email, so it exists nowhere else.
Answers to "send me a link" never say whether an account exists.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlmodel import Session, func, select, update

from engage_reflex.models import AccountLink, LoginSession, User
from engage_reflex.models._common import as_utc
from engage_reflex.models.users import LoginFailure
from engage_reflex.schemas import UserView
from engage_reflex.services import queue as jobqueue
from engage_reflex.services import sharing, users
from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings

ACTIVATE, RESET = "activate", "reset"
LIFETIME = {ACTIVATE: timedelta(hours=48), RESET: timedelta(hours=1)}
PAGE = {ACTIVATE: "/activate", RESET: "/reset-password"}
# Asking again and again must not flood anybody's mailbox (the forms take any address).
LINKS_PER_HOUR = 3
EMAIL_JOB = "jobs.account_emails.send_account_email"

_BAD_LINK = {
    ACTIVATE: "This activation link is not valid. Copy the whole link from the email, or log in with your "
              "email and password to ask for a new one.",
    RESET: "This link to choose a new password is not valid. Copy the whole link from the email, or ask "
           "for a new one.",
}
_USED_RESET = "This link was used already: each one works once. Ask for a new one if you need it."
_EXPIRED = {
    ACTIVATE: "This activation link has expired (they work for 48 hours). Log in with your email and "
              "password to ask for a new one.",
    RESET: "This link has expired (they work for one hour). Please ask for a new one.",
}


@dataclass(frozen=True)
class Registered:
    user: UserView
    needs_activation: bool  # True: an activation email is on its way; no login yet
    email_queued: bool = True  # False: the email could not be queued (the planner can ask again)


@dataclass(frozen=True)
class Profile:
    email: str
    display_name: str
    sessions: int  # login sessions open now (this browser's included)
    daily_digest: bool = False  # a daily email of what is new on one's models (services/digests.py)


def _now() -> datetime:
    return datetime.now(UTC)


def email_enabled() -> bool:
    """Whether this deployment sends email (and so asks new accounts to confirm their address)."""
    return bool(get_settings().sendgrid_api_key)


def link_url(purpose: str, token: str) -> str:
    return f"{get_settings().public_url}{PAGE[purpose]}?token={quote(token, safe='')}"


def _usable(user: User | None) -> bool:
    """A person's account (not the samples user, whom nobody can log in as)."""
    return user is not None and not user.password_hash.startswith(users.UNUSABLE_PASSWORD_PREFIX)


def _make_active(session: Session, user: User) -> None:
    """The account's address is confirmed (no commit): it may log in, and the models shared with
    its address before it existed are its to open."""
    if user.is_active:
        return
    user.is_active, user.activated_at = True, _now()
    session.add(user)
    sharing.accept_invitations(session, user)


# --- asking for a link -------------------------------------------------------------------------

def _ask(session: Session, user: User, purpose: str) -> bool:
    """Record the request and enqueue its email; False when the account asked too often this hour
    or the queue does not answer (nothing is left recorded then)."""
    since = _now() - timedelta(hours=1)
    recent = session.exec(
        select(func.count()).select_from(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.purpose == purpose, AccountLink.created_at > since)
    ).one()
    if recent >= LINKS_PER_HOUR:
        return False
    link = AccountLink(user_id=user.id, purpose=purpose, created_at=_now())
    session.add(link)
    session.commit()
    try:
        jobqueue.enqueue_email(EMAIL_JOB, link.id, description=f"email account link {link.id}")
    except Exception:
        session.delete(link)
        session.commit()
        return False
    return True


def register(*, session: Session, email: str, password: str, display_name: str = "") -> Registered:
    """Create an account. With email: inactive, and its activation email is queued."""
    needs_activation = email_enabled()
    if not needs_activation:  # usable at once: the invitations to its address are accepted with it
        user = users.register(session=session, email=email, password=password, display_name=display_name,
                              with_account=lambda row: sharing.accept_invitations(session, row))
        return Registered(user=user, needs_activation=False)
    user = users.register(session=session, email=email, password=password, display_name=display_name,
                          active=False)
    return Registered(user=user, needs_activation=True,
                      email_queued=_ask(session, session.get(User, user.id), ACTIVATE))


def request_activation_email(*, session: Session, email: str) -> None:
    """A new activation link for an account that is not active yet (quietly nothing otherwise)."""
    user = session.exec(select(User).where(User.email == users.normalise_email(email))).first()
    if email_enabled() and _usable(user) and not user.is_active:
        _ask(session, user, ACTIVATE)


def request_password_reset(*, session: Session, email: str) -> None:
    """Email a link to choose a new password, if there is such an account (the answer is the same
    either way, so the form does not tell who has an account)."""
    email = users.normalise_email(email)
    if not email:
        raise EngageError("Please enter the email address of your account.")
    if not email_enabled():
        raise EngageError("This Engage cannot send email. Please ask its administrator to set a new password "
                          "for you (`engage user set-password EMAIL`).")
    user = session.exec(select(User).where(User.email == email)).first()
    if _usable(user):
        _ask(session, user, RESET)


# --- the emailed link --------------------------------------------------------------------------

def issue_token(*, session: Session, link_id: int) -> tuple[str, str, str] | None:
    """For the email job: a fresh token for the link (its hash and expiry on the row; commits).
    Returns (token, purpose, email address), or None when the link is no longer wanted: already
    sent, its account gone, or an activation for an account that is active by now."""
    link = session.get(AccountLink, link_id)
    user = session.get(User, link.user_id) if link is not None else None
    if link is None or user is None or link.token_hash is not None or link.used_at is not None:
        return None
    if link.purpose == ACTIVATE and user.is_active:
        return None
    token = secrets.token_urlsafe(32)
    now = _now()
    link.token_hash, link.sent_at, link.expires_at = users.hash_token(token), now, now + LIFETIME[link.purpose]
    session.add(link)
    session.commit()
    return token, link.purpose, user.email


def withdraw_token(*, session: Session, link_id: int) -> None:
    """The email could not be sent: the job may try again with a new token."""
    session.exec(update(AccountLink).where(AccountLink.id == link_id, AccountLink.used_at.is_(None))
                 .values(token_hash=None, sent_at=None, expires_at=None))
    session.commit()


def _link(session: Session, token: str, purpose: str) -> tuple[AccountLink, User]:
    row = session.exec(
        select(AccountLink, User).join(User, User.id == AccountLink.user_id)
        .where(AccountLink.token_hash == users.hash_token(token or ""), AccountLink.purpose == purpose)
    ).first() if token else None
    if row is None:
        raise EngageError(_BAD_LINK[purpose])
    link, user = row
    if link.used_at is not None and purpose == RESET:
        raise EngageError(_USED_RESET)
    if link.expires_at is None or as_utc(link.expires_at) <= _now():
        raise EngageError(_EXPIRED[purpose])
    return link, user


def activate(*, session: Session, token: str) -> tuple[UserView, str]:
    """Confirm the account's address; returns the user and a new login token (commits). A link
    followed again opens a login too while it works: it proves the same address."""
    link, user = _link(session, token, ACTIVATE)
    now = _now()
    _make_active(session, user)
    link.used_at = link.used_at or now
    session.add(link)
    session.commit()
    return users.view_of(user), users.open_session(session=session, user_id=user.id)


def check_reset_link(*, session: Session, token: str) -> str:
    """The email address the reset link is for, if it still works (else EngageError)."""
    return _link(session, token, RESET)[1].email


def reset_password(*, session: Session, token: str, password: str) -> str:
    """Set the new password through a reset link: it works once, every login session of the
    account ends, and the address counts as confirmed. Returns the email address (commits)."""
    link, user = _link(session, token, RESET)
    user.password_hash = users.hash_password(users.check_new_password(password))
    now = _now()
    if _usable(user):
        _make_active(session, user)
    session.add(user)
    # This link and any other reset link of the account: the password they were for has changed.
    session.exec(update(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == RESET,
                                           AccountLink.used_at.is_(None)).values(used_at=now))
    users.end_sessions(session, user.id)
    session.exec(LoginFailure.__table__.delete().where(LoginFailure.email == user.email))
    session.commit()
    return user.email


# --- the profile -------------------------------------------------------------------------------

def get_profile(*, session: Session, user_id: int) -> Profile:
    user = session.get(User, user_id)
    count = session.exec(select(func.count()).select_from(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.expires_at > _now())).one()
    return Profile(email=user.email, display_name=user.display_name, sessions=int(count),
                   daily_digest=bool(user.daily_digest))


def update_display_name(*, session: Session, user_id: int, display_name: str) -> Profile:
    user = session.get(User, user_id)
    user.display_name = users.clean_display_name(display_name)
    session.add(user)
    session.commit()
    return get_profile(session=session, user_id=user_id)


def change_password(*, session: Session, user_id: int, current_password: str, new_password: str,
                    keep_token: str = "") -> int:
    """Replace the password after checking the current one. Every other login session ends (this
    browser's, `keep_token`, stays); returns how many ended. Commits."""
    user = session.get(User, user_id)
    if not users.check_password(current_password or "", user.password_hash):
        raise EngageError("Your current password is not right. Please type it again.")
    new_password = users.check_new_password(new_password)
    if new_password == current_password:
        raise EngageError("The new password is the same as the current one. Please choose another.")
    user.password_hash = users.hash_password(new_password)
    session.add(user)
    ended = users.end_sessions(session, user_id, keep_token=keep_token)
    session.commit()
    return ended


def logout_everywhere(*, session: Session, user_id: int) -> int:
    """End every login session of the account, this browser's too; how many. Commits."""
    ended = users.end_sessions(session, user_id)
    session.commit()
    return ended


# --- for operators (engage user ...) ----------------------------------------------------------

def activate_account(*, session: Session, email: str) -> UserView:
    """Confirm an account's address by hand (a planner whose email never arrived). Commits."""
    user = users.user_by_email(session, email)
    if not _usable(user):
        raise EngageError(f"Nobody can log in as {user.email}; it cannot be activated.")
    _make_active(session, user)
    session.commit()
    return users.view_of(user)


def set_password(*, session: Session, email: str, password: str) -> int:
    """An operator sets a new password (a deployment without email): the account is active and
    every login session of it ends; how many. Commits."""
    user = users.user_by_email(session, email)
    if not _usable(user):
        raise EngageError(f"Nobody can log in as {user.email}; it keeps its unusable password.")
    user.password_hash = users.hash_password(users.check_new_password(password))
    _make_active(session, user)
    ended = users.end_sessions(session, user.id)
    session.commit()
    return ended
