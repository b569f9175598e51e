"""Account emails through a real worker and the real `sendgrid` client to the local SendGrid
stand-in: the activation and password links arrive, work, and SendGrid refusing for now leaves
no working link behind but a job rq tries again."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engage_reflex.models import AccountLink
from engage_reflex.services import accounts, users
from jobs import account_emails
from jobs.alerts import SendFailed
from tests.jobs.conftest import PUBLIC_URL, start_worker
from tests.sendgrid_standin import text_of

pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True), pytest.mark.usefixtures("redis_url")]
PASSWORD = "a-long-password"


def _run_queued_jobs() -> str:
    worker = start_worker("short")
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    return output


def _token(link: str) -> str:
    return link.split("?token=", 1)[1]


def test_activation_and_reset_links_arrive_by_email_and_work(sendgrid, session):
    accounts.register(session=session, email="ada@example.org", password=PASSWORD, display_name="Ada")
    _run_queued_jobs()
    [email] = sendgrid.emails_to("ada@example.org")
    assert email["subject"] == "Activate your Engage account"
    assert email["from"]["email"] == "engage@example.org"
    assert "works for 48 hours" in text_of(email)
    link = sendgrid.wait_for_link("ada@example.org", "/activate", timeout_s=0)
    assert link.startswith(f"{PUBLIC_URL}/activate?token=")
    user, login_token = accounts.activate(session=session, token=_token(link))
    assert users.user_for_token(session=session, token=login_token).email == "ada@example.org"

    # A second job for the same link (a duplicate) sends nothing more.
    assert account_emails.send_account_email(session.exec(select(AccountLink)).one().id).startswith("skipped")

    accounts.request_password_reset(session=session, email="ada@example.org")
    _run_queued_jobs()
    link = sendgrid.wait_for_link("ada@example.org", "/reset-password", timeout_s=0)
    reset = sendgrid.emails_to("ada@example.org")[-1]
    assert reset["subject"] == "Choose a new Engage password" and "works for one hour, once" in text_of(reset)
    accounts.reset_password(session=session, token=_token(link), password="a-new-password")
    assert users.user_for_token(session=session, token=login_token) is None  # logged out everywhere
    assert users.login(session=session, email="ada@example.org", password="a-new-password")
    assert len(sendgrid.emails()) == 2


def test_sendgrid_refusing_for_now_leaves_no_working_link_and_is_tried_again(sendgrid, session):
    sendgrid.status = 503
    accounts.register(session=session, email="bo@example.org", password=PASSWORD)
    link = session.exec(select(AccountLink)).one()
    with pytest.raises(SendFailed):
        account_emails.send_account_email(link.id)
    session.expire_all()
    assert session.get(AccountLink, link.id).token_hash is None  # what the unsent email held works nowhere

    sendgrid.status = 202  # the retry (here: the queued job) goes through
    _run_queued_jobs()
    session.rollback()  # read what the worker wrote (this session saw the row before)
    session.expire_all()
    assert accounts.activate(session=session, token=_token(sendgrid.wait_for_link("bo@example.org", "/activate",
                                                                                 timeout_s=0)))
    # An activation asked for after the account became active sends nothing.
    assert account_emails.send_account_email(link.id).startswith("skipped")


def test_each_member_a_comment_mentions_is_emailed_once_even_when_one_email_is_retried(sendgrid, session):
    from rq.registry import ScheduledJobRegistry

    from engage_reflex.services import feed, models, sharing
    from engage_reflex.services import queue as jobqueue

    ids = {name: users.register(session=session, email=f"{name}@example.org", password=PASSWORD,
                                display_name=name.capitalize()).id for name in ("ann", "bo", "cy")}
    model_id = models.create_model(session=session, user_id=ids["ann"], name="Grid 2040").id
    session.commit()
    for name in ("bo", "cy"):
        sharing.share(session=session, user_id=ids["ann"], model_id=model_id, email=f"{name}@example.org",
                      can_edit=False)
    sendgrid.refuse_next["cy@example.org"] = 1  # SendGrid cannot take Cy's email at first
    feed.post_comment(session=session, user_id=ids["ann"], model_id=model_id,
                      body="@bo@example.org and @cy@example.org: is the coal cap right?")
    _run_queued_jobs()
    [to_bo] = sendgrid.emails_to("bo@example.org")
    assert to_bo["subject"] == "Ann mentioned you on “Grid 2040”" and "> @bo@example.org" in text_of(to_bo)
    assert f"{PUBLIC_URL}/models/{model_id}" in text_of(to_bo)
    assert sendgrid.emails_to("cy@example.org") == []

    # rq keeps Cy's email for a retry in 10 s; run it now: Cy gets it, Bo is not emailed again.
    short = jobqueue.queue("short")
    scheduled = ScheduledJobRegistry(queue=short)
    [job_id] = scheduled.get_job_ids()
    scheduled.remove(job_id)
    short.enqueue_job(short.fetch_job(job_id))
    _run_queued_jobs()
    assert len(sendgrid.emails_to("cy@example.org")) == 1 and len(sendgrid.emails_to("bo@example.org")) == 1
    assert sendgrid.emails_to("ann@example.org") == []  # the author is not told of her own comment
