"""Accounts by email (services/accounts.py) on SQLite and PostgreSQL with a real Redis queue:
activation where the app sends email, links that expire or work once, a password reset that
ends every login, the profile, and logging out everywhere. The email job itself (a worker and
the SendGrid stand-in) is tested in tests/jobs/test_account_emails.py; here the token is made
as that job makes it (accounts.issue_token)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from sqlmodel import select

from engage_reflex.models import AccountLink, LoginSession, User
from engage_reflex.services import accounts, users
from engage_reflex.services import queue as jobqueue
from engage_reflex.services.errors import AccountNotActive, EngageError
from engage_reflex.settings import get_settings

PASSWORD = "a-long-password"


@pytest.fixture
def email_on(monkeypatch, redis_url):
    """A deployment that sends email (the link jobs go to the test's Redis queue, not sent)."""
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test-key")
    monkeypatch.setenv("ENGAGE_PUBLIC_URL", "https://engage.example.org")
    get_settings.cache_clear()
    yield jobqueue.queue("short")
    get_settings.cache_clear()


def _sent(session, queue: Queue, email: str) -> str:
    """What the email job does with the newest queued link of `email`: make its token."""
    user = session.exec(select(User).where(User.email == email)).one()
    link = session.exec(select(AccountLink).where(AccountLink.user_id == user.id)
                        .order_by(AccountLink.id.desc())).first()
    assert any(job.args == (link.id,) and job.func_name == accounts.EMAIL_JOB for job in queue.get_jobs())
    token, purpose, to = accounts.issue_token(session=session, link_id=link.id)
    assert to == email
    return token


def _sessions(session, email: str) -> int:
    user = session.exec(select(User).where(User.email == email)).one()
    return len(session.exec(select(LoginSession).where(LoginSession.user_id == user.id)).all())


def test_without_email_accounts_are_active_at_once_and_resets_go_through_the_operator(session):
    registered = accounts.register(session=session, email="Ada@Example.org", password=PASSWORD)
    assert not registered.needs_activation
    assert users.login(session=session, email="ada@example.org", password=PASSWORD)
    with pytest.raises(EngageError, match="cannot send email.*engage user set-password"):
        accounts.request_password_reset(session=session, email="ada@example.org")
    assert session.exec(select(AccountLink)).all() == []


def test_with_email_an_account_waits_for_its_activation_link(session, email_on):
    registered = accounts.register(session=session, email="ada@example.org", password=PASSWORD, display_name="Ada")
    assert registered.needs_activation and registered.email_queued
    with pytest.raises(AccountNotActive, match="not active yet.*ada@example.org"):
        users.login(session=session, email="ada@example.org", password=PASSWORD)
    token = _sent(session, email_on, "ada@example.org")
    assert accounts.link_url(accounts.ACTIVATE, token) == f"https://engage.example.org/activate?token={token}"
    # The database keeps only the token's hash.
    assert session.exec(select(AccountLink).where(AccountLink.token_hash == token)).first() is None

    user, login_token = accounts.activate(session=session, token=token)
    assert user.email == "ada@example.org" and users.user_for_token(session=session, token=login_token).id == user.id
    assert users.login(session=session, email="ada@example.org", password=PASSWORD)
    # Followed again while it works: the same address, so it logs in again.
    assert accounts.activate(session=session, token=token)[0].id == user.id


def test_a_wrong_or_expired_activation_link_is_refused_in_words(session, email_on):
    accounts.register(session=session, email="bo@example.org", password=PASSWORD)
    token = _sent(session, email_on, "bo@example.org")
    with pytest.raises(EngageError, match="not valid. Copy the whole link"):
        accounts.activate(session=session, token=token[:-3])
    with pytest.raises(EngageError, match="not valid"):
        accounts.activate(session=session, token="")
    link = session.exec(select(AccountLink)).one()
    link.expires_at = link.sent_at + timedelta(hours=48) - timedelta(days=3)
    session.add(link)
    session.commit()
    with pytest.raises(EngageError, match="expired \\(they work for 48 hours\\)"):
        accounts.activate(session=session, token=token)
    # A new link from the login page works.
    accounts.request_activation_email(session=session, email="BO@example.org")
    accounts.activate(session=session, token=_sent(session, email_on, "bo@example.org"))


def test_links_are_limited_per_hour_and_never_say_who_has_an_account(session, email_on):
    accounts.register(session=session, email="cy@example.org", password=PASSWORD)  # link 1
    for _ in range(5):
        accounts.request_activation_email(session=session, email="cy@example.org")
        accounts.request_password_reset(session=session, email="cy@example.org")
    kinds = [link.purpose for link in session.exec(select(AccountLink)).all()]
    assert kinds.count(accounts.ACTIVATE) == accounts.LINKS_PER_HOUR and kinds.count(accounts.RESET) == 3
    # Unknown addresses and the samples user get the same (silent) answer and no link.
    accounts.request_password_reset(session=session, email="nobody@example.org")
    session.add(User(email="samples@engage.local", password_hash=users.UNUSABLE_PASSWORD_PREFIX, is_active=False))
    session.commit()
    accounts.request_password_reset(session=session, email="samples@engage.local")
    accounts.request_activation_email(session=session, email="samples@engage.local")
    assert len(session.exec(select(AccountLink)).all()) == 6
    assert len(email_on.get_jobs()) == 6


def test_a_password_reset_works_once_and_ends_every_login(session, email_on):
    accounts.register(session=session, email="di@example.org", password=PASSWORD)
    accounts.activate(session=session, token=_sent(session, email_on, "di@example.org"))
    users.login(session=session, email="di@example.org", password=PASSWORD)
    assert _sessions(session, "di@example.org") == 2

    accounts.request_password_reset(session=session, email=" Di@Example.org ")
    first = _sent(session, email_on, "di@example.org")
    accounts.request_password_reset(session=session, email="di@example.org")
    second = _sent(session, email_on, "di@example.org")
    assert accounts.check_reset_link(session=session, token=first) == "di@example.org"
    with pytest.raises(EngageError, match="at least 8 characters"):
        accounts.reset_password(session=session, token=first, password="short")
    assert accounts.reset_password(session=session, token=first, password="a-new-password") == "di@example.org"

    assert _sessions(session, "di@example.org") == 0
    with pytest.raises(EngageError, match="not right"):
        users.login(session=session, email="di@example.org", password=PASSWORD)
    assert users.login(session=session, email="di@example.org", password="a-new-password")
    for used in (first, second):  # the other link was for the old password: it is spent too
        with pytest.raises(EngageError, match="used already"):
            accounts.check_reset_link(session=session, token=used)


def test_a_reset_link_expires_after_an_hour_and_confirms_an_unactivated_address(session, email_on):
    accounts.register(session=session, email="ed@example.org", password=PASSWORD)
    accounts.request_password_reset(session=session, email="ed@example.org")
    token = _sent(session, email_on, "ed@example.org")
    link = session.exec(select(AccountLink).where(AccountLink.purpose == accounts.RESET)).one()
    assert link.expires_at - link.sent_at == timedelta(hours=1)
    accounts.reset_password(session=session, token=token, password="a-new-password")
    assert users.login(session=session, email="ed@example.org", password="a-new-password")  # active now

    accounts.request_password_reset(session=session, email="ed@example.org")
    late = _sent(session, email_on, "ed@example.org")
    link = session.exec(select(AccountLink).where(AccountLink.purpose == accounts.RESET)
                        .order_by(AccountLink.id.desc())).first()
    link.expires_at = link.sent_at - timedelta(minutes=1)
    session.add(link)
    session.commit()
    with pytest.raises(EngageError, match="expired \\(they work for one hour\\)"):
        accounts.reset_password(session=session, token=late, password="another-password")


def test_a_link_whose_email_could_not_be_sent_stops_working(session, email_on):
    accounts.register(session=session, email="fa@example.org", password=PASSWORD)
    link = session.exec(select(AccountLink)).one()
    token, _, _ = accounts.issue_token(session=session, link_id=link.id)
    assert accounts.issue_token(session=session, link_id=link.id) is None  # a duplicate job sends nothing
    accounts.withdraw_token(session=session, link_id=link.id)
    with pytest.raises(EngageError, match="not valid"):
        accounts.activate(session=session, token=token)
    retried, _, _ = accounts.issue_token(session=session, link_id=link.id)
    assert accounts.activate(session=session, token=retried)


def test_registering_while_the_queue_is_down_keeps_the_account_and_says_so(session, monkeypatch):
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test-key")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nobody listens there
    get_settings.cache_clear()
    registered = accounts.register(session=session, email="gu@example.org", password=PASSWORD)
    assert registered.needs_activation and not registered.email_queued
    assert session.exec(select(AccountLink)).all() == []  # nothing half-recorded
    assert session.exec(select(User).where(User.email == "gu@example.org")).one().is_active is False


def test_profile_name_password_and_logging_out_everywhere(session):
    user = accounts.register(session=session, email="hu@example.org", password=PASSWORD).user
    here = users.login(session=session, email="hu@example.org", password=PASSWORD)
    users.login(session=session, email="hu@example.org", password=PASSWORD)
    users.login(session=session, email="hu@example.org", password=PASSWORD)
    assert accounts.get_profile(session=session, user_id=user.id).sessions == 3

    shown = accounts.update_display_name(session=session, user_id=user.id, display_name="  Hu   Planner ")
    assert shown.display_name == "Hu Planner"
    with pytest.raises(EngageError, match="at most 120 characters"):
        accounts.update_display_name(session=session, user_id=user.id, display_name="x" * 121)

    with pytest.raises(EngageError, match="current password is not right"):
        accounts.change_password(session=session, user_id=user.id, current_password="wrong-one",
                                 new_password="a-new-password", keep_token=here)
    with pytest.raises(EngageError, match="same as the current one"):
        accounts.change_password(session=session, user_id=user.id, current_password=PASSWORD,
                                 new_password=PASSWORD, keep_token=here)
    ended = accounts.change_password(session=session, user_id=user.id, current_password=PASSWORD,
                                     new_password="a-new-password", keep_token=here)
    assert ended == 2 and users.user_for_token(session=session, token=here).id == user.id

    assert accounts.logout_everywhere(session=session, user_id=user.id) == 1
    assert users.user_for_token(session=session, token=here) is None


def test_operators_activate_and_set_passwords_without_email(session, email_on):
    accounts.register(session=session, email="io@example.org", password=PASSWORD)
    assert accounts.activate_account(session=session, email="IO@example.org").email == "io@example.org"
    users.login(session=session, email="io@example.org", password=PASSWORD)
    assert accounts.set_password(session=session, email="io@example.org", password="set-by-operator") == 1
    assert users.login(session=session, email="io@example.org", password="set-by-operator")
    with pytest.raises(EngageError, match="no account for"):
        accounts.set_password(session=session, email="nobody@example.org", password="set-by-operator")
