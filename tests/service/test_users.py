"""Accounts and login sessions against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from engage_reflex.models import LoginSession, User
from engage_reflex.services import users
from engage_reflex.services.errors import EngageError


def test_register_login_and_token_lookup(session):
    view = users.register(session=session, email="  Ada@Example.org ", password="correct horse",
                          display_name="Ada")
    assert view.email == "ada@example.org" and view.display_name == "Ada"
    stored = session.exec(select(User).where(User.id == view.id)).one()
    assert stored.password_hash.startswith("$2") and "correct horse" not in stored.password_hash

    token = users.login(session=session, email="ADA@example.org", password="correct horse")
    assert len(token) >= 32
    assert users.user_for_token(session=session, token=token) == view
    login_session = session.exec(select(LoginSession).where(LoginSession.token_hash == users.hash_token(token))).one()
    expires = login_session.expires_at.replace(tzinfo=login_session.expires_at.tzinfo or UTC)
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    users.logout(session=session, token=token)
    assert users.user_for_token(session=session, token=token) is None
    users.logout(session=session, token=token)  # twice is harmless


def test_wrong_password_and_unknown_email_get_the_same_message(session):
    users.register(session=session, email="bob@example.org", password="12345678")
    with pytest.raises(EngageError) as wrong_password:
        users.login(session=session, email="bob@example.org", password="87654321")
    with pytest.raises(EngageError) as unknown_email:
        users.login(session=session, email="nobody@example.org", password="12345678")
    assert wrong_password.value.message == unknown_email.value.message
    assert "email or password" in wrong_password.value.message


def test_duplicate_email_is_refused_whatever_the_case(session):
    users.register(session=session, email="carol@example.org", password="12345678")
    with pytest.raises(EngageError, match="already an account for carol@example.org"):
        users.register(session=session, email="Carol@Example.org", password="abcdefgh")
    assert len(session.exec(select(User)).all()) == 1


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("", "12345678", "enter your email"),
        ("not-an-email", "12345678", "does not look like an email"),
        ("a@b", "12345678", "does not look like an email"),
        ("dan@example.org", "short", "at least 8 characters"),
        ("dan@example.org", "x" * 73, "at most 72 characters"),
    ],
)
def test_register_explains_bad_input(session, email, password, message):
    with pytest.raises(EngageError, match=message):
        users.register(session=session, email=email, password=password)
    assert session.exec(select(User)).all() == []


def test_expired_and_unknown_tokens_find_nobody(session):
    view = users.register(session=session, email="eve@example.org", password="12345678")
    token = users.login(session=session, email="eve@example.org", password="12345678")
    row = session.exec(select(LoginSession).where(LoginSession.token_hash == users.hash_token(token))).one()
    row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    session.add(row)
    session.commit()
    assert users.user_for_token(session=session, token=token) is None
    assert users.user_for_token(session=session, token="no-such-token") is None
    assert users.user_for_token(session=session, token="") is None
    # A new login works and cleans up the expired session.
    fresh = users.login(session=session, email="eve@example.org", password="12345678")
    assert users.user_for_token(session=session, token=fresh).id == view.id
    assert session.exec(select(LoginSession).where(LoginSession.token_hash == users.hash_token(token))).first() is None
