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
    # Email activation comes later; until then accounts are active on registration.
    is_active: bool = Field(default=True)
    is_admin: bool = Field(default=False)
    activation_token: str | None = Field(default=None, max_length=100, index=True)
    activated_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()


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
