"""A run's live log through Redis: the worker-side publisher tails the work folder's log files while
they are written, a Log dialog reads what came after the last entry it showed, and the one
subscriber of an app process tells the dialog watching that run (real Redis, real files)."""

from __future__ import annotations

import asyncio
import time

import pytest

from engage_reflex.services import live_log_stream, run_logs, storage
from engage_reflex.services.live_log_stream import LiveLogPublisher, read_since
from engage_reflex.services.run_events import RunChangeHub
from tests.s3_store import moto_endpoint, s3_store  # noqa: F401


def _write(path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()


def _wait_for(run_id: int, needle: str, after: str = "", timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        lines = read_since(run_id, after)
        shown += lines.text
        after = lines.last_id
        if needle in shown:
            return shown, after
        time.sleep(0.05)
    pytest.fail(f"{needle!r} did not reach the live log; it shows {shown!r}")


def test_lines_written_by_a_job_reach_the_stream_while_it_runs_and_the_next_job_goes_on(tmp_path, redis_url):
    work = tmp_path / "work"
    work.mkdir()
    raw = work / run_logs.RAW_LOG_FILE
    with LiveLogPublisher(run_id=7, model_id=3, work_dir=work, fresh=True):
        _write(raw, "10:00:01 INFO calliope.model: Model: initialising\n")
        _write(raw, "10:00:01 DEBUG calliope.preprocess: a detail for the full log only\n")
        shown, after = _wait_for(7, "Model: initialising")
        _write(raw, "10:00:02 WARNING calliope.model: a warning the planner should see\n")
        more, after = _wait_for(7, "a warning the planner should see", after)
    assert "a detail for the full log only" not in shown + more  # DEBUG stays in the full log
    assert "10:00:02 Warning: a warning the planner should see" in more
    assert live_log_stream.last_offsets(7)[0] == raw.stat().st_size

    # The solve job (same work folder here) goes on after the build's lines: nothing is sent twice.
    with LiveLogPublisher(run_id=7, model_id=3, work_dir=work, fresh=False):
        _write(work / run_logs.SOLVER_LOG_FILE, "Running HiGHS 1.16.0\nIteration 1\n")
        solver, after = _wait_for(7, "Iteration 1", after)
    assert "Model: initialising" not in solver and run_logs.SOLVER_LOG_HEADING in solver
    everything = read_since(7)
    assert everything.text.count("Model: initialising") == 1 and "Iteration 1" in everything.text
    assert not everything.restarted

    # Started again (its jobs were lost): a dialog that showed the old attempt drops it.
    again_work = tmp_path / "work-again"
    again_work.mkdir()
    with LiveLogPublisher(run_id=7, model_id=3, work_dir=again_work, fresh=True):
        _write(again_work / run_logs.RAW_LOG_FILE, "10:05:00 INFO calliope.model: Model: initialising again\n")
        _wait_for(7, "initialising again")
    again = read_since(7, after)
    assert again.restarted and "initialising again" in again.text and "Iteration 1" not in again.text


def test_the_dialog_watching_a_run_is_told_when_its_log_grows(tmp_path, redis_url):
    work = tmp_path / "work"
    work.mkdir()

    async def scenario() -> None:
        hub = RunChangeHub()
        async with hub.watch_run(11) as dialog, hub.watch(5) as runs_page:
            await dialog.next(timeout=5)  # subscribed (a first read of everything)
            await runs_page.next(timeout=1)
            with LiveLogPublisher(run_id=11, model_id=5, work_dir=work, fresh=True):
                _write(work / run_logs.RAW_LOG_FILE, "10:00:01 INFO calliope.model: Model: building\n")
                shown, after = "", ""
                for _ in range(5):  # the job's start (the log begins anew), then its lines
                    got = await dialog.next(timeout=5)
                    assert got is not None, f"no word of the log growing; shown: {shown!r}"
                    change = got[0][11]
                    assert change.log_id and change.view is None and not change.deleted
                    lines = await asyncio.to_thread(read_since, 11, after)
                    shown, after = shown + lines.text, lines.last_id
                    if "Model: building" in shown:
                        break
                assert "Model: building" in shown and after == change.log_id
            assert await runs_page.next(timeout=0.5) is None  # the runs list is not woken for log lines
        hub._task.cancel()

    asyncio.run(scenario())


def test_without_redis_the_job_runs_on_with_an_empty_live_log(tmp_path, monkeypatch):
    from engage_reflex.settings import get_settings

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        with LiveLogPublisher(run_id=9, model_id=1, work_dir=tmp_path, fresh=True) as publisher:
            _write(tmp_path / run_logs.RAW_LOG_FILE, "10:00:01 INFO calliope.model: Model: initialising\n")
        assert publisher.offset == 0  # nothing streamed, nothing raised
    finally:
        get_settings.cache_clear()


def test_a_dialog_opening_on_a_long_log_reads_only_its_tail_and_then_what_follows(redis_url):
    """A first read goes back from the newest entry only as far as a dialog keeps (not the whole
    capped stream), never past the attempt's start; the next read goes on after its last entry."""
    live_log_stream.start_over(run_id=9, model_id=3)
    for n in range(1200):  # ~120 KB
        live_log_stream._append(9, 3, {"text": f"old attempt line {n:05d} ".ljust(99, ".") + "\n"})
    live_log_stream.start_over(run_id=9, model_id=3)
    short = read_since(9)
    assert short.text == "" and short.last_id and not short.restarted  # only the new attempt's (none yet)
    for n in range(3000):  # ~300 KB
        live_log_stream._append(9, 3, {"text": f"line {n:05d} ".ljust(99, ".") + "\n"})

    tail = read_since(9, first_chars=50_000)
    assert 50_000 < len(tail.text) <= 50_100 and tail.text.endswith(f"line {2999:05d} ".ljust(99, ".") + "\n")
    assert "old attempt" not in tail.text and not tail.restarted
    whole = read_since(9)  # the dialog's limit: the newest 200,000+ characters, in order
    assert 200_000 < len(whole.text) <= 200_100 and whole.last_id == tail.last_id
    numbers = [int(line.split()[1].strip(".")) for line in whole.text.splitlines()]
    assert numbers == list(range(numbers[0], 3000))
    shown = run_logs.keep_tail("", whole.text)
    assert "earlier lines left out" in shown and shown.endswith(whole.text[-1000:])

    live_log_stream._append(9, 3, {"text": "the next line\n"})
    after = read_since(9, tail.last_id)
    assert after.text == "the next line\n" and not after.restarted


def test_a_long_job_puts_its_full_log_so_far_into_an_s3_store(tmp_path, redis_url, s3_store, monkeypatch):  # noqa: F811
    """"Download full log" during a long solve on another machine shows the lines so far, not only
    the build's: the publisher puts the growing run.log into the store now and then."""
    monkeypatch.setattr(live_log_stream, "STORE_LOG_EVERY_S", 0.3)
    store = storage.get_store()
    work = tmp_path / "work"
    work.mkdir()
    raw = work / run_logs.RAW_LOG_FILE
    with LiveLogPublisher(run_id=11, model_id=3, work_dir=work, fresh=True):
        _write(raw, "10:00:01 INFO calliope.model: Model: initialising\n")
        _until(lambda: b"initialising" in _stored(store, "runs/11/run.log"))
        _write(raw, "10:00:09 INFO calliope.backend: solving\n")
        _until(lambda: b"solving" in _stored(store, "runs/11/run.log"))
    assert store.read_bytes("runs/11/run.log") == raw.read_bytes()


def _stored(store, key: str) -> bytes:
    try:
        return store.read_bytes(key)
    except FileNotFoundError:
        return b""


def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the store never got the log"
        time.sleep(0.1)
