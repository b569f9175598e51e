"""The one place Engage changes Reflex's private code. Each patch names the Reflex version it was
written for and refuses to start on any other, so an upgrade makes someone look again
(tests/service/test_reflex_patches.py shows what each patch fixes).
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version

PATCHED_FOR = "0.10.1"
# Compare the lock's owner and delete in one step: never free a lock another event holds.
_RELEASE_IF_OURS = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class ReflexChanged(RuntimeError):
    """The installed Reflex is not the one the patches were written for."""


def _check_version() -> None:
    installed = version("reflex")
    if installed != PATCHED_FOR:
        raise ReflexChanged(
            f"engage_reflex/reflex_patches.py was written for Reflex {PATCHED_FOR}, but {installed} is installed. "
            "Check whether Reflex still leaves a cancelled event's state lock held in Redis "
            "(tests/service/test_reflex_patches.py), then update PATCHED_FOR or remove the patch.")


def release_lock_taken_by_a_cancelled_event() -> None:
    """Work around Reflex 0.10.1: an event cancelled while it takes its tab's lock, as a
    supersedes=True event is when a newer one comes (the run form's estimate and check, the runs
    page's watch), can be cancelled after Redis granted the lock and before Reflex recorded it; the
    lock then stays until it expires, and the tab's next events wait that long (the browser suite
    saw about 1 in 30 such cancellations do it). A cancelled lock taker here frees the lock if it
    got it. Remove this once Reflex releases the lock itself."""
    _check_version()
    from reflex.istate.manager.redis import StateManagerRedis

    wait_lock = StateManagerRedis._wait_lock
    if getattr(wait_lock, "engage_releases_on_cancel", False):
        return

    async def _wait_lock(self, lock_key: bytes, lock_id: bytes) -> None:
        try:
            await wait_lock(self, lock_key, lock_id)
        except asyncio.CancelledError:
            await asyncio.shield(self.redis.eval(_RELEASE_IF_OURS, 1, lock_key, lock_id))
            raise

    _wait_lock.engage_releases_on_cancel = True
    _wait_lock.engage_original = wait_lock  # what the test compares against
    StateManagerRedis._wait_lock = _wait_lock
