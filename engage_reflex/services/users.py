"""Accounts and login sessions: register, log in, look up the user behind a token, log out."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import bcrypt
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from engage_reflex.models import LoginSession, User
from engage_reflex.schemas import UserView
from engage_reflex.services.errors import EngageError

SESSION_DAYS = 30
MIN_PASSWORD_LENGTH = 8
# bcrypt only looks at the first 72 bytes (bcrypt 5 refuses longer input).
MAX_PASSWORD_BYTES = 72
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_LOGIN_FAILED = "The email or password is not right. Please check both and try again."


def _view(user: User) -> UserView:
    assert user.id is not None
    return UserView(id=user.id, email=user.email, display_name=user.display_name, is_admin=user.is_admin)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timezone-aware columns back without a zone; we only ever store UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES or not password_hash:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except ValueError:
        return False


def register(*, session: Session, email: str, password: str, display_name: str = "") -> UserView:
    """Create an account; it is active at once (email activation comes later)."""
    email = normalise_email(email)
    if not email:
        raise EngageError("Please enter your email address.")
    if len(email) > 254 or not _EMAIL_RE.match(email):
        raise EngageError(f"“{email}” does not look like an email address (for example name@example.org).")
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise EngageError(f"Please choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise EngageError(f"Please choose a password of at most {MAX_PASSWORD_BYTES} characters.")
    display_name = (display_name or "").strip()
    if len(display_name) > 120:
        raise EngageError("Please shorten your name to at most 120 characters.")
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise EngageError(f"There is already an account for {email}. Log in instead, or use another email.")
    user = User(email=email, display_name=display_name, password_hash=hash_password(password))
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # registered twice at the same moment
        session.rollback()
        raise EngageError(f"There is already an account for {email}. Log in instead, or use another email.")
    session.refresh(user)
    return _view(user)


def login(*, session: Session, email: str, password: str) -> str:
    """Check the password and open a login session; returns its token (valid 30 days)."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None or not check_password(password or "", user.password_hash):
        raise EngageError(_LOGIN_FAILED)
    if not user.is_active:
        raise EngageError("This account is not active yet. Please follow the link in your activation email.")
    now = datetime.now(UTC)
    # Housekeeping: forget this user's expired sessions.
    session.exec(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token=token, created_at=now,
                             expires_at=now + timedelta(days=SESSION_DAYS)))
    session.commit()
    return token


def user_for_token(*, session: Session, token: str) -> UserView | None:
    """The user a valid, unexpired token belongs to, else None."""
    if not token:
        return None
    row = session.exec(
        select(LoginSession, User).join(User, User.id == LoginSession.user_id).where(LoginSession.token == token)
    ).first()
    if row is None:
        return None
    login_session, user = row
    if _as_utc(login_session.expires_at) <= datetime.now(UTC) or not user.is_active:
        return None
    return _view(user)


def logout(*, session: Session, token: str) -> None:
    """End the login session of this token (nothing happens for an unknown token)."""
    if not token:
        return
    session.exec(delete(LoginSession).where(LoginSession.token == token))
    session.commit()
