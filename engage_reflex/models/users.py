"""Accounts and login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from engage_reflex.models._common import created_at_field, optional_time_field, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=200)
    # False until the email address is confirmed (services/accounts.py: only when the app can send
    # email; otherwise accounts are active on registration). The samples user is never active.
    is_active: bool = Field(default=True)
    is_admin: bool = Field(default=False)
    activated_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    # The daily digest of what is new on one's models (off unless the person turns it on), and the
    # day (UTC, YYYY-MM-DD) the last one was claimed by a worker: one per day across all workers.
    daily_digest: bool = Field(default=False)
    digest_day: str = Field(default="", max_length=10)


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    # sha256 (hex) of the token; the token itself lives only in the browser's cookie.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = created_at_field()


class LoginFailure(SQLModel, table=True):
    """One failed login, kept for the rate limits (per account and per client address)."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    client_ip: str = Field(default="", max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False,
                                 index=True)


class AccountLink(SQLModel, table=True):
    """A link emailed to an account: activate it (48 h) or choose a new password (1 h, one use).

    The row is made when the planner asks (so asking is rate-limited on it); the short-queue job
    that sends the email makes the token then and keeps only its sha256 here, so the token itself
    exists only in the email."""

    __tablename__ = "account_links"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    purpose: str = Field(max_length=20)  # "activate" | "reset"
    token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = optional_time_field()
    expires_at: datetime | None = optional_time_field()
    used_at: datetime | None = optional_time_field()
