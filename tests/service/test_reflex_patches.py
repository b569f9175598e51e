"""Engage's one change to Reflex's private code (engage_reflex/reflex_patches.py): it holds for the
pinned Reflex, and what it fixes — a tab's state lock left held by an event cancelled while taking
it (real Redis)."""

from __future__ import annotations

import asyncio
import types
import uuid
from importlib.metadata import version

import pytest

from engage_reflex import reflex_patches


def test_the_patches_are_for_the_installed_reflex():
    # When this fails, Reflex was upgraded: re-check the patch (the test below shows the fault).
    assert version("reflex") == reflex_patches.PATCHED_FOR


def test_a_different_reflex_is_refused_in_words(monkeypatch):
    monkeypatch.setattr(reflex_patches, "PATCHED_FOR", "0.0.1")
    with pytest.raises(reflex_patches.ReflexChanged, match="written for Reflex 0.0.1"):
        reflex_patches.release_lock_taken_by_a_cancelled_event()


def _lock_left_after_a_cancel(redis_url: str) -> bool:
    """One event cancelled in the gap where Redis has granted its tab's lock but the answer has not
    reached Reflex yet (widened here to 0.2 s, as a slow network would); is the lock still held?"""
    from redis.asyncio import Redis
    from reflex.istate.manager.redis import StateManagerRedis

    async def check() -> bool:
        manager = StateManagerRedis(redis=Redis.from_url(redis_url), lock_expiration=5000,
                                    lock_warning_threshold=1000)
        granted = asyncio.Event()

        async def set_then_slow_answer(*args, **kwargs):
            answer = await Redis.set(manager.redis, *args, **kwargs)
            granted.set()
            await asyncio.sleep(0.2)
            return answer

        manager.redis.set = set_then_slow_answer
        token = types.SimpleNamespace(lock_key=str(uuid.uuid4()))

        async def event():
            async with manager._lock(token, event_name="superseded"):
                await asyncio.sleep(0.01)

        task = asyncio.create_task(event())
        await granted.wait()
        task.cancel()  # as a newer event of the tab supersedes this one
        await asyncio.gather(task, return_exceptions=True)
        left = await manager.redis.get(manager._lock_key(token)) is not None
        await manager.redis.delete(manager._lock_key(token))
        await manager.close()
        return left

    return asyncio.run(check())


def test_no_tab_lock_outlives_an_event_cancelled_while_taking_it(redis_url):
    from reflex.config import get_config
    from reflex.istate.manager.redis import StateManagerRedis

    get_config()  # loads rxconfig.py, which applies the patch
    patched = StateManagerRedis._wait_lock
    assert getattr(patched, "engage_releases_on_cancel", False), "rxconfig.py no longer applies the patch"
    try:
        StateManagerRedis._wait_lock = patched.engage_original
        assert _lock_left_after_a_cancel(redis_url), "Reflex now releases such a lock itself: drop the patch"
    finally:
        StateManagerRedis._wait_lock = patched
    assert not _lock_left_after_a_cancel(redis_url)
