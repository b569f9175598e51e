"""The live log of a run through a real worker (streamed through Redis): read through the service while the run solves,
it already has HiGHS's own lines; Calliope's DEBUG details stay in the full log only."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session

from engage_reflex import db
from engage_reflex.services import run_logs, runs, storage
from engage_reflex.services.errors import NotFound
from tests.jobs.conftest import make_user, start_worker

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_live_log_shows_highs_lines_while_the_run_solves(db_url, session, redis_url, national):
    model, scenario = national
    # Two weeks hourly: HiGHS works for a few seconds, long enough to be watched at work.
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-14", resample="")
    stranger = make_user(session, "stranger@example.org")
    worker = start_worker("short", "long")
    shown, after = "", ""
    statuses: list[str] = []
    highs_lines_while_highs_works = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with Session(db.get_engine(db_url)) as s:
            live = run_logs.live_log(session=s, user_id=model.owner_id, run_id=view.id, after=after)
        assert not live.restarted or not shown  # only the build's start begins it anew
        shown = run_logs.keep_tail(shown, live.text)
        after = live.last_id
        if not statuses or statuses[-1] != live.status:
            statuses.append(live.status)
        if "Iteration" in shown and "Presolving model" in shown and "solver finished running" not in shown:
            highs_lines_while_highs_works = live.status == "solving"
        if not live.active:
            break
        time.sleep(0.1)
    worker.wait(30)

    assert statuses[-1] == "succeeded", (statuses, shown[-3000:])
    assert highs_lines_while_highs_works, (statuses, shown[-3000:])
    # Calliope's own words come before the solver's, and after it its closing lines, once each.
    assert shown.index("Model: backend build starting") < shown.index(run_logs.SOLVER_LOG_HEADING)
    assert shown.count("Model status        : Optimal") == 1, shown[-3000:]
    assert shown.index("Model status") < shown.index("Backend: model solve completed")
    assert " DEBUG " not in shown and "schemas.general" not in shown  # details: in the full log only
    raw = storage.get_store().read_bytes(
        run_logs.raw_log_path(session=session, user_id=model.owner_id, run_id=view.id)).decode()
    assert " DEBUG calliope.backend" in raw and "Model status        : Optimal" in raw

    # The sample is public: anyone reads its owner's runs, logs included. Made private, a stranger
    # reads nothing of it.
    assert run_logs.live_log(session=session, user_id=stranger.id, run_id=view.id).text
    model.is_public = False
    session.add(model)
    session.commit()
    with pytest.raises(NotFound):
        run_logs.live_log(session=session, user_id=stranger.id, run_id=view.id)
