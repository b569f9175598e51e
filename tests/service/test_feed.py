"""A model's feed (services/feed.py) on SQLite and PostgreSQL: changes, runs and comments, newest
first; comments by and for the people a model is shared with, @mentions of them queued for email;
what is new to each member since they last read it, counted on My models."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engage_reflex.models import Run, RunStatus, Scenario
from engage_reflex.models._common import utcnow
from engage_reflex.services import feed, models, sharing, users
from engage_reflex.services import queue as jobqueue
from engage_reflex.services.errors import EngageError, PermissionDenied

PASSWORD = "a-long-password"


@pytest.fixture
def team(session, redis_url):
    ids = {name: users.register(session=session, email=f"{name}@example.org", password=PASSWORD,
                                display_name=name.capitalize()).id
           for name in ("owner", "ed", "vera", "stranger")}
    ids["model"] = models.create_model(session=session, user_id=ids["owner"], name="Grid 2040").id
    session.commit()
    for name, can_edit in (("ed", True), ("vera", False)):
        sharing.share(session=session, user_id=ids["owner"], model_id=ids["model"], email=f"{name}@example.org",
                      can_edit=can_edit)
    feed.mark_seen(session=session, user_id=ids["owner"], model_id=ids["model"])
    return ids


def _unread(session, user_id: int) -> dict[str, int]:
    return {m.name: m.unread for m in models.list_models(session=session, user_id=user_id)}


def test_what_others_did_is_new_until_read(session, team):
    assert _unread(session, team["owner"]) == {"Grid 2040": 0}
    models.rename_model(session=session, user_id=team["ed"], model_id=team["model"], name="Grid 2045")
    session.commit()
    scenario = session.exec(select(Scenario).where(Scenario.model_id == team["model"])).first()
    session.add(Run(model_id=team["model"], scenario_id=scenario.id, user_id=team["ed"], status=RunStatus.succeeded,
                    message="Solved.", created_at=utcnow(), finished_at=utcnow()))
    session.commit()
    assert _unread(session, team["owner"]) == {"Grid 2045": 2}  # the rename and the finished run
    assert _unread(session, team["ed"])["Grid 2045"] >= 1  # ed never read it: the sharing entries count

    shown = feed.model_feed(session=session, user_id=team["owner"], model_id=team["model"])
    titles = [(i.title, i.who, i.is_new) for i in shown.items]
    assert titles[:3] == [("Run #1 succeeded", "Ed", True), ("Run #1 started", "Ed", True), ("renamed", "Ed", True)]
    assert shown.can_comment
    feed.mark_seen(session=session, user_id=team["owner"], model_id=team["model"])
    assert _unread(session, team["owner"]) == {"Grid 2045": 0}
    assert not any(i.is_new for i in feed.model_feed(session=session, user_id=team["owner"],
                                                     model_id=team["model"]).items)
    models.rename_model(session=session, user_id=team["owner"], model_id=team["model"], name="Grid 2050")
    session.commit()
    assert _unread(session, team["owner"]) == {"Grid 2050": 0}  # one's own change is not news


def test_members_comment_and_mention_each_other(session, team, redis_url):
    posted = feed.post_comment(session=session, user_id=team["vera"], model_id=team["model"],
                               body="  Looks right. @Owner@Example.org, the coal cap?  \r\nThanks  ")
    assert posted.mentioned == ("owner@example.org",)
    assert posted.item.text == "Looks right. @Owner@Example.org, the coal cap?\nThanks"
    [job] = jobqueue.queue("short").jobs
    assert job.func_name == feed.MENTION_JOB and job.args == (1, team["owner"])
    email = feed.mention_email(session=session, comment_id=1, user_id=team["owner"])
    assert (email.to, email.model_name, email.who) == ("owner@example.org", "Grid 2040", "Vera")
    assert "coal cap" in email.body
    for not_mentioned in (team["vera"], team["ed"]):  # the author, a member not mentioned: no email
        assert feed.mention_email(session=session, comment_id=1, user_id=not_mentioned) is None
    assert _unread(session, team["owner"]) == {"Grid 2040": 1}
    assert _unread(session, team["vera"])["Grid 2040"] == 0  # commenting marks it read
    comments = [i for i in feed.model_feed(session=session, user_id=team["ed"], model_id=team["model"]).items
                if i.kind == "comment"]
    assert [(c.who, c.is_new) for c in comments] == [("Vera", True)]

    with pytest.raises(EngageError, match="stranger@example.org cannot open “Grid 2040”"):
        feed.post_comment(session=session, user_id=team["ed"], model_id=team["model"],
                          body="@stranger@example.org see this")
    with pytest.raises(EngageError, match="the comment is empty"):
        feed.post_comment(session=session, user_id=team["ed"], model_id=team["model"], body="   ")
    with pytest.raises(EngageError, match="keep it to 4,000"):
        feed.post_comment(session=session, user_id=team["ed"], model_id=team["model"], body="x" * 4001)
    queued = len(jobqueue.queue("short").jobs)
    feed.post_comment(session=session, user_id=team["ed"], model_id=team["model"], body="@ed@example.org note to self")
    assert len(jobqueue.queue("short").jobs) == queued  # nobody else to tell


def test_readers_who_are_not_members_see_changes_but_no_comments(session, team):
    feed.post_comment(session=session, user_id=team["ed"], model_id=team["model"], body="internal remark")
    sharing.set_public(session=session, user_id=team["owner"], model_id=team["model"], public=True)
    session.commit()
    for reader in (team["stranger"], None):
        shown = feed.model_feed(session=session, user_id=reader, model_id=team["model"])
        assert not shown.can_comment and shown.items
        assert all(i.kind != "comment" and not i.is_new for i in shown.items)
        with pytest.raises(PermissionDenied):
            feed.post_comment(session=session, user_id=reader, model_id=team["model"], body="hello")
    assert not any("@" in i.who for i in feed.model_feed(session=session, user_id=None,
                                                         model_id=team["model"]).items)
    feed.mark_seen(session=session, user_id=team["stranger"], model_id=team["model"])  # no row for a non-member
    assert "Grid 2040" not in {m.name for m in models.list_models(session=session, user_id=team["stranger"])
                               if m.unread}


def test_the_daily_digest_is_off_unless_asked_for_and_goes_once_a_day(session, team, redis_url, monkeypatch):
    from engage_reflex.services import digests
    from engage_reflex.settings import get_settings
    from jobs.account_emails import digest_for

    assert digests.claim_due(session=session, day="2001-01-01") == []  # nobody asked for one
    assert digests.set_daily_digest(session=session, user_id=team["owner"], on=True)
    assert digests.digest_of(session=session, user_id=team["owner"]) == ("owner@example.org", [])  # nothing new
    models.rename_model(session=session, user_id=team["ed"], model_id=team["model"], name="Grid 2045")
    session.commit()
    to, found = digests.digest_of(session=session, user_id=team["owner"])
    assert [(m.name, m.new) for m in found] == [("Grid 2045", 1)] and "Ed: renamed" in found[0].items[0]
    email = digest_for(to=to, models=found, public_url="https://engage.example.org")
    assert email.subject == "Engage: 1 new on 1 of your models"
    assert f"https://engage.example.org/models/{team['model']}" in email.body and "/profile" in email.body

    # Each day once, whichever worker claims it first.
    assert digests.claim_due(session=session, day="2001-01-01") == [team["owner"]]
    assert digests.claim_due(session=session, day="2001-01-01") == []
    assert digests.claim_due(session=session, day="2001-01-02") == [team["owner"]]
    # Queued as an email job only where Engage sends email.
    assert digests.queue_due_digests() == 0
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test")
    get_settings.cache_clear()
    assert digests.queue_due_digests() == 1 and digests.queue_due_digests() == 0
    assert jobqueue.queue("short").jobs[-1].func_name == digests.DIGEST_JOB
    digests.set_daily_digest(session=session, user_id=team["owner"], on=False)
    assert digests.digest_of(session=session, user_id=team["owner"]) == ("", [])
