"""Accounts and login sessions: register, log in, look up the user behind a token, log out; the admin role.

The database keeps only the sha256 of each login token (the browser keeps the token), so a
copy of the database does not let anyone in. Failed logins are recorded in `login_failures`,
which every app process sees, to limit guessing per account and per client address. An
unknown email costs the same bcrypt check as a wrong password, so timing does not tell which
accounts exist.

The first account registered becomes an administrator (it may open the job dashboard); the
operator gives or takes the role with `engage admin grant|revoke EMAIL`.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import bcrypt
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from engage_reflex.models import LoginSession, User
from engage_reflex.models._common import as_utc
from engage_reflex.models.users import LoginFailure
from engage_reflex.schemas import UserView
from engage_reflex.services.errors import AccountNotActive, EngageError, NotFound
from engage_reflex.settings import get_settings

SESSION_DAYS = 30
MIN_PASSWORD_LENGTH = 8
# bcrypt only looks at the first 72 bytes (bcrypt 5 refuses longer input).
MAX_PASSWORD_BYTES = 72
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_LOGIN_FAILED = "The email or password is not right. Please check both and try again."
# A password hash no password matches (the samples user's): such accounts are nobody's.
UNUSABLE_PASSWORD_PREFIX = "!"


def view_of(user: User) -> UserView:
    assert user.id is not None
    return UserView(id=user.id, email=user.email, display_name=user.display_name, is_admin=user.is_admin)


def shown_name(person: User | None, *, reader_id: int | None) -> str:
    """How a person is named to a reader: by display name, else by email address; a visitor without
    a login (reader_id None, reading a public model) never sees an address."""
    if person is None:
        return ""
    if reader_id is None:
        return person.display_name or "an Engage user"
    return person.display_name or person.email


# An address inside text (activity details such as "Shared with ann@example.org (can edit)").
_ADDRESS_IN_TEXT = re.compile(r"[^\s@()“”\"',;:<>]+@[^\s@()“”\"',;:<>.]+(?:\.[^\s@()“”\"',;:<>.]+)+")


def hide_addresses(*, session: Session, text: str) -> str:
    """`text` with every email address in it replaced by that account's display name, else by
    "an Engage user": how a visitor without a login reads a public model's activity."""
    if "@" not in (text or ""):
        return text

    def name_for(match: re.Match) -> str:
        person = session.exec(select(User).where(User.email == normalise_email(match.group(0)))).first()
        return shown_name(person, reader_id=None) if person is not None else "an Engage user"

    return _ADDRESS_IN_TEXT.sub(name_for, text)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_token(token: str) -> str:
    """What the database stores of a login token: its sha256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _dummy_password_hash() -> str:
    """A hash no password is known for, with the same cost as real ones: checked for unknown
    emails so that they take as long to refuse as wrong passwords."""
    return hash_password(secrets.token_urlsafe(16))


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


def check_new_password(password: str | None) -> str:
    """A password a new or changed account may have, else EngageError in words."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise EngageError(f"Please choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise EngageError(f"Please choose a password of at most {MAX_PASSWORD_BYTES} characters.")
    return password


def clean_display_name(display_name: str | None) -> str:
    display_name = " ".join((display_name or "").split())
    if len(display_name) > 120:
        raise EngageError("Please shorten your name to at most 120 characters.")
    return display_name


def register(*, session: Session, email: str, password: str, display_name: str = "",
             active: bool = True, with_account=None) -> UserView:
    """Create an account. `active=False`: it waits for its email address to be confirmed
    (services/accounts.py sends the link). `with_account(user)` adds what goes with the new account
    in the same transaction (accepting the invitations to its address)."""
    email = normalise_email(email)
    if not email:
        raise EngageError("Please enter your email address.")
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise EngageError(f"“{email}” does not look like an email address (for example name@example.org).")
    password = check_new_password(password)
    display_name = clean_display_name(display_name)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise EngageError(f"There is already an account for {email}. Log in instead, or use another email.")
    user = User(email=email, display_name=display_name, password_hash=hash_password(password),
                is_admin=_no_one_can_log_in_yet(session), is_active=active,
                activated_at=datetime.now(UTC) if active else None)
    session.add(user)
    try:
        session.flush()
        if with_account is not None:
            with_account(user)
        session.commit()
    except IntegrityError:  # registered twice at the same moment
        session.rollback()
        raise EngageError(f"There is already an account for {email}. Log in instead, or use another email.")
    except BaseException:  # no account without what goes with it
        session.rollback()
        raise
    session.refresh(user)
    return view_of(user)


def _no_one_can_log_in_yet(session: Session) -> bool:
    """True before the first real account: only accounts with an unusable password (the samples user) exist."""
    usable = select(User.id).where(User.password_hash.not_like(f"{UNUSABLE_PASSWORD_PREFIX}%")).limit(1)
    return session.exec(usable).first() is None


def user_by_email(session: Session, email: str) -> User:
    """The account of this address, else NotFound in words."""
    email = normalise_email(email)
    user = session.exec(select(User).where(User.email == email)).first() if email else None
    if user is None:
        raise NotFound(f"There is no account for “{email}”. Check the spelling, or ask the person to "
                       "register first.")
    return user


def grant_admin(*, session: Session, email: str) -> UserView:
    """Give the account the admin role (nothing changes if it has it). Does not commit."""
    user = user_by_email(session, email)
    if user.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX):
        raise EngageError(f"Nobody can log in as {user.email}, so it cannot be an administrator. "
                          "Choose the account of a person.")
    user.is_admin = True
    session.add(user)
    session.flush()
    return view_of(user)


def revoke_admin(*, session: Session, email: str) -> UserView:
    """Take the admin role from the account; the last administrator keeps it. Does not commit."""
    user = user_by_email(session, email)
    if not user.is_admin:
        return view_of(user)
    others = session.exec(select(User.id).where(User.is_admin, User.id != user.id).limit(1)).first()
    if others is None:
        raise EngageError(f"{user.email} is the only administrator. Give another account the role first "
                          "(`engage admin grant EMAIL`), then take it from this one.")
    user.is_admin = False
    session.add(user)
    session.flush()
    return view_of(user)


def _seconds_locked(session: Session, column, value: str, limit: int, now: datetime,
                    window: timedelta) -> int:
    """Seconds until `value` (an email or an address) may try again: 0 while fewer than `limit`
    failures fall within the window, else the time until the oldest of the last `limit` leaves it."""
    if limit <= 0 or not value:
        return 0
    recent = session.exec(
        select(LoginFailure.created_at)
        .where(column == value, LoginFailure.created_at > now - window)
        .order_by(LoginFailure.created_at.desc())
        .limit(limit)
    ).all()
    if len(recent) < limit:
        return 0
    return max(1, math.ceil((as_utc(recent[-1]) + window - now).total_seconds()))


def login_retry_after(*, session: Session, email: str, client_ip: str = "") -> int:
    """Seconds until this account or client address may try to log in again (0: now)."""
    settings = get_settings()
    now, window = datetime.now(UTC), timedelta(seconds=settings.login_failure_window_seconds)
    return max(
        _seconds_locked(session, LoginFailure.email, normalise_email(email)[:254],
                        settings.login_failures_per_account, now, window),
        _seconds_locked(session, LoginFailure.client_ip, (client_ip or "")[:64],
                        settings.login_failures_per_address, now, window),
    )


def login(*, session: Session, email: str, password: str, client_ip: str = "") -> str:
    """Check the password and open a login session; returns its token (valid 30 days).

    After too many failures for this account or from this client address within the window
    (settings `login_failures_per_account` / `_per_address`), refuses without checking."""
    email = normalise_email(email)
    wait = login_retry_after(session=session, email=email, client_ip=client_ip)
    if wait:
        raise EngageError(f"Too many attempts. Please try again in {wait} s.")
    user = session.exec(select(User).where(User.email == email)).first()
    # An unknown email costs a bcrypt check too: its answer must not come sooner.
    password_ok = check_password(password or "", user.password_hash if user else _dummy_password_hash())
    now = datetime.now(UTC)
    if user is None or not password_ok:
        window = timedelta(seconds=get_settings().login_failure_window_seconds)
        session.exec(delete(LoginFailure).where(LoginFailure.created_at <= now - window))  # housekeeping
        session.add(LoginFailure(email=email[:254], client_ip=(client_ip or "")[:64], created_at=now))
        session.commit()
        raise EngageError(_LOGIN_FAILED)
    if not user.is_active:
        raise AccountNotActive(f"Your account is not active yet. Please follow the link in the email we sent to "
                               f"{user.email} (check your spam folder too), or ask for a new link below.")
    # The account's failures are forgotten once its password is given (the address's are not:
    # one's own account must not reset the count of guesses at others').
    session.exec(delete(LoginFailure).where(LoginFailure.email == email))
    assert user.id is not None
    return open_session(session=session, user_id=user.id)


def open_session(*, session: Session, user_id: int) -> str:
    """A new login session for a user whose identity is already established (a password just
    checked, or an account just registered); returns its token (valid 30 days). Commits."""
    now = datetime.now(UTC)
    # Housekeeping: forget this user's expired sessions.
    session.exec(delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user_id, token_hash=hash_token(token), created_at=now,
                             expires_at=now + timedelta(days=SESSION_DAYS)))
    session.commit()
    return token


def user_for_token(*, session: Session, token: str) -> UserView | None:
    """The user a valid, unexpired token belongs to, else None."""
    if not token:
        return None
    row = session.exec(
        select(LoginSession, User).join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    login_session, user = row
    if as_utc(login_session.expires_at) <= datetime.now(UTC) or not user.is_active:
        return None
    return view_of(user)


def end_sessions(session: Session, user_id: int, *, keep_token: str = "") -> int:
    """End the user's login sessions, except the one of `keep_token`; how many ended. Does not commit."""
    query = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_token:
        query = query.where(LoginSession.token_hash != hash_token(keep_token))
    return session.exec(query).rowcount or 0


def logout(*, session: Session, token: str) -> None:
    """End the login session of this token (nothing happens for an unknown token)."""
    if not token:
        return
    session.exec(delete(LoginSession).where(LoginSession.token_hash == hash_token(token)))
    session.commit()
