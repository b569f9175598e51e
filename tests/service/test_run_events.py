"""Run changes pushed over Redis pub/sub: what a writer publishes, and what one app process's hub
hands to the tabs watching a model (real Redis, both databases)."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
import sqlalchemy as sa

from engage_reflex.models import EnergyModel, Run, RunStatus, Scenario, User
from engage_reflex.services import run_events, runs
from engage_reflex.services.run_events import RunChange, RunChangeHub


@pytest.fixture
def world(session, redis_url):
    owner = User(email="owner@example.org", password_hash="x")
    session.add(owner)
    session.commit()
    models = [EnergyModel(name=name, owner_id=owner.id) for name in ("Island", "Mainland")]
    session.add_all(models)
    session.commit()
    scenarios = [Scenario(model_id=m.id, name="base") for m in models]
    session.add_all(scenarios)
    session.commit()
    run = Run(model_id=models[0].id, scenario_id=scenarios[0].id, user_id=owner.id, status=RunStatus.queued,
              log="a long planner's log " * 1000)
    other = Run(model_id=models[1].id, scenario_id=scenarios[1].id, user_id=owner.id, status=RunStatus.queued)
    session.add_all([run, other])
    session.commit()
    return {"owner": owner, "models": models, "run": run, "other": other}


def _listening(url: str):
    conn = redis.Redis.from_url(url)
    pubsub = conn.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(run_events.channel())
    return conn, pubsub


def _next_message(pubsub, timeout: float = 5.0) -> dict:
    message = pubsub.get_message(timeout=timeout)
    assert message is not None, "nothing was published"
    return json.loads(message["data"])


def test_each_committed_change_is_published_with_the_run_as_the_page_shows_it(session, world, redis_url):
    conn, pubsub = _listening(redis_url)
    run = world["run"]
    try:
        assert runs.claim_run(session=session, run_id=run.id, job_id=run.rq_job_id or "", status=RunStatus.building,
                              worker_name="w1") is False  # not the run's job: nothing changed, nothing said
        assert pubsub.get_message(timeout=0.5) is None
        assert runs.update_active_run(session=session, run_id=run.id, status=RunStatus.solving, progress=40,
                                      message="Solving with HiGHS")
        sent = _next_message(pubsub)
        assert (sent["run"], sent["model"]) == (run.id, world["models"][0].id)
        change = RunChange.decode(json.dumps(sent))
        assert change is not None and change.view is not None
        assert (change.view.status, change.view.progress, change.view.message) == ("solving", 40, "Solving with HiGHS")
        assert change.view.scenario_name == "base" and change.view.model_name == "Island"
        assert "planner's log" not in json.dumps(sent)  # the log text is not part of the status
        assert runs.succeed_run(session=session, run_id=run.id, objective=12.5, progress=100, message="Done")
        assert _next_message(pubsub)["view"]["objective"] == 12.5
        # Finished: a late writer changes nothing and announces nothing.
        assert not runs.update_active_run(session=session, run_id=run.id, progress=50)
        assert pubsub.get_message(timeout=0.5) is None
    finally:
        pubsub.close()
        conn.close()


def test_the_runs_list_reads_no_log_text(session, world):
    statements: list[str] = []
    engine = session.get_bind()

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        listed = runs.list_runs(session=session, user_id=world["owner"].id, model_id=world["models"][0].id)
        viewed = runs.get_run(session=session, user_id=world["owner"].id, run_id=world["run"].id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert [v.id for v in listed] == [world["run"].id] and viewed.id == world["run"].id
    assert any("FROM runs" in s for s in statements)
    assert not [s for s in statements if "runs.log" in s]  # the log is read only when asked for
    assert runs.run_log(session=session, user_id=world["owner"].id, run_id=world["run"].id).startswith("a long")


def test_one_subscriber_fans_changes_out_to_the_tabs_watching_that_model(session, world, redis_url):
    island, mainland = world["models"]
    run, other = world["run"], world["other"]

    async def scenario() -> None:
        hub = RunChangeHub()
        async with hub.watch(island.id) as tab1, hub.watch(island.id) as tab2, hub.watch(mainland.id) as tab3:
            assert hub.watching == 3
            first = await tab1.next(timeout=5)  # the subscription is in place: tabs are told to read once
            assert first is not None and first[1] is True
            await tab2.next(timeout=1)
            await tab3.next(timeout=1)
            await asyncio.to_thread(runs.update_active_run, session=session, run_id=run.id,
                                    status=RunStatus.solving, progress=10, message="Building")
            await asyncio.to_thread(runs.update_active_run, session=session, run_id=run.id, progress=60,
                                    message="Solving")
            for tab in (tab1, tab2):
                changes, resync = await tab.next(timeout=5)
                await asyncio.sleep(0.2)  # both messages in: a tab that is behind gets the latest only
                more = await tab.next(timeout=0.5)
                latest = (more or (changes, resync))[0].get(run.id) or changes[run.id]
                assert latest.view.progress == 60 and latest.view.message == "Solving"
            assert await tab3.next(timeout=0.5) is None  # another model's tab hears nothing
            await asyncio.to_thread(runs.update_active_run, session=session, run_id=other.id, progress=5)
            changes, _ = await tab3.next(timeout=5)
            assert list(changes) == [other.id]
            assert hub.received >= 3
        assert hub.watching == 0
        hub._task.cancel()

    asyncio.run(scenario())


def test_a_broken_subscription_comes_back_and_tells_the_tabs_to_read_the_database(session, world, redis_url):
    async def scenario() -> None:
        hub = RunChangeHub()
        async with hub.watch(world["models"][0].id) as tab:
            await tab.next(timeout=5)
            admin = redis.Redis.from_url(redis_url)
            clients = [c for c in admin.client_list() if "subscribe" in c.get("cmd", "")
                       or int(c.get("sub", 0)) > 0]
            assert clients, "the hub holds a subscription"
            for client in clients:
                admin.client_kill_filter(_id=client["id"])
            update = await tab.next(timeout=10)
            assert update is not None and update[1] is True  # resync: messages may have been missed
            await asyncio.to_thread(runs.update_active_run, session=session, run_id=world["run"].id, progress=70)
            changes, _ = await tab.next(timeout=5)
            assert changes[world["run"].id].view.progress == 70
            admin.close()
        hub._task.cancel()

    asyncio.run(scenario())


def test_publishing_never_fails_the_write_when_redis_is_down(session, world, monkeypatch):
    from engage_reflex.settings import get_settings

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        assert runs.update_active_run(session=session, run_id=world["run"].id, progress=30, message="Reading")
    finally:
        get_settings.cache_clear()
    session.expire_all()
    assert session.get(Run, world["run"].id).progress == 30
