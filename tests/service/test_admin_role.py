"""The admin role: the first account is an admin, `engage admin grant|revoke EMAIL`, and the signed
link and cookie that let an admin's browser into the job dashboard (real database, both kinds)."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from engage_reflex.cli import main
from engage_reflex.models import User
from engage_reflex.services import admin, samples, users
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied


def _is_admin(session, email: str) -> bool:
    session.expire_all()
    return session.exec(select(User.is_admin).where(User.email == email)).one()


def test_the_first_account_registered_is_the_only_admin_even_after_the_samples_user(session):
    samples.ensure_samples_user(session=session)  # `engage serve` creates it before anyone registers
    session.commit()
    first = users.register(session=session, email="ada@example.org", password="correct horse")
    second = users.register(session=session, email="bob@example.org", password="correct horse")
    assert first.is_admin and not second.is_admin
    assert not _is_admin(session, samples.SAMPLES_USER_EMAIL)


def test_grant_and_revoke_change_the_role_and_the_last_admin_keeps_it(session):
    users.register(session=session, email="ada@example.org", password="correct horse")
    users.register(session=session, email="bob@example.org", password="correct horse")

    assert users.grant_admin(session=session, email=" Bob@Example.org ").is_admin
    session.commit()
    assert _is_admin(session, "bob@example.org")
    assert users.grant_admin(session=session, email="bob@example.org").is_admin  # twice changes nothing

    assert not users.revoke_admin(session=session, email="ada@example.org").is_admin
    session.commit()
    assert not _is_admin(session, "ada@example.org")
    with pytest.raises(EngageError, match="bob@example.org is the only administrator. Give another account"):
        users.revoke_admin(session=session, email="bob@example.org")
    assert _is_admin(session, "bob@example.org")


def test_grant_refuses_unknown_emails_and_the_samples_user(session):
    samples.ensure_samples_user(session=session)
    with pytest.raises(NotFound, match="There is no account for “carol@example.org”"):
        users.grant_admin(session=session, email="Carol@example.org")
    with pytest.raises(EngageError, match="Nobody can log in as samples@engage.local"):
        users.grant_admin(session=session, email=samples.SAMPLES_USER_EMAIL)
    assert not _is_admin(session, samples.SAMPLES_USER_EMAIL)


def test_engage_admin_grant_and_revoke_commands(session, capsys):
    users.register(session=session, email="ada@example.org", password="correct horse")
    users.register(session=session, email="bob@example.org", password="correct horse")

    assert main(["admin", "grant", "bob@example.org"]) == 0
    assert capsys.readouterr().out.strip() == "bob@example.org is an administrator."
    assert _is_admin(session, "bob@example.org")
    assert main(["admin", "revoke", "ada@example.org"]) == 0
    assert capsys.readouterr().out.strip() == "ada@example.org is not an administrator."
    assert not _is_admin(session, "ada@example.org")

    assert main(["admin", "revoke", "bob@example.org"]) == 2
    assert "bob@example.org is the only administrator" in capsys.readouterr().err
    assert _is_admin(session, "bob@example.org")  # the refused command changed nothing
    assert main(["admin", "grant", "nobody@example.org"]) == 2
    assert "There is no account for “nobody@example.org”" in capsys.readouterr().err


def test_only_an_admin_gets_a_dashboard_link_and_it_names_them_for_a_minute(session):
    ada = users.register(session=session, email="ada@example.org", password="correct horse")
    bob = users.register(session=session, email="bob@example.org", password="correct horse")
    with pytest.raises(PermissionDenied, match="only for administrators"):
        admin.dashboard_link(session=session, user_id=bob.id)

    now = time.time()
    link = admin.dashboard_link(session=session, user_id=ada.id, now=now)
    path, query = link.split("?")
    params = dict(part.split("=") for part in query.split("&"))
    assert path == admin.OPEN_ROUTE
    assert admin.check_dashboard_link(**params, now=now + 59) == ada.id
    with pytest.raises(EngageError, match="has expired"):
        admin.check_dashboard_link(**params, now=now + 61)
    with pytest.raises(EngageError, match="not valid"):  # someone else's id under ada's signature
        admin.check_dashboard_link(**{**params, "user": str(bob.id)}, now=now)
    with pytest.raises(EngageError, match="not valid"):  # a link that claims to last an hour
        admin.check_dashboard_link(**params, now=now - 3600)


def test_the_cookie_is_refused_when_forged_expired_or_made_from_a_link():
    now = time.time()
    cookie = admin.dashboard_cookie(user_id=7, now=now)
    assert admin.check_dashboard_cookie(cookie, now=now + 3599) == 7
    with pytest.raises(admin.NotSignedIn, match="has ended"):
        admin.check_dashboard_cookie(cookie, now=now + 3601)
    with pytest.raises(admin.NotSignedIn):
        admin.check_dashboard_cookie("", now=now)
    user, expires, sig = cookie.split(".")
    for forged in (f"8.{expires}.{sig}", f"{user}.{int(expires) + 1}.{sig}", f"{user}.{expires}.{'0' * 64}",
                   "7.nonsense", f"{user}.{expires}.{sig}.x"):
        with pytest.raises(EngageError, match="not valid") as refused:
            admin.check_dashboard_cookie(forged, now=now)
        assert not isinstance(refused.value, admin.NotSignedIn)
    # A link's signature has another purpose: it does not open the dashboard as a cookie.
    link_sig = admin._signature("rq-open", 7, int(expires))
    with pytest.raises(EngageError, match="not valid"):
        admin.check_dashboard_cookie(f"7.{expires}.{link_sig}", now=now)
