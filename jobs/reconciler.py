"""What every worker does on its own schedule so that no run is stuck and none is lost.

`jobs.worker.EngageWorker` calls `reconcile_once` every ENGAGE_RECONCILE_SECONDS, from rq's own
loops (its maintenance step while idle, its work-horse monitoring while busy, next to rq's
registry clean-up that handles abandoned jobs), and `heartbeat` for the run its work horse
holds. The rules live in `engage_reflex.services.runs.reconcile_runs`; this module adds what only
a worker does: the owner's alert for every run the pass failed, and for runs finished by a
process that sends none (the web app's list_runs/get_run reconcile too, cheaply).

With the defaults (reconcile every 10 s, a worker dead after 40 s without a heartbeat) a run whose
worker died is final within 50 s as long as any worker runs; a worker started later finalises
it on its first pass after those 40 s.
"""

from __future__ import annotations

import logging

from engage_reflex.db import session_scope
from engage_reflex.services import digests, runs
from jobs import alerts

LOGGER = logging.getLogger(__name__)


def reconcile_once() -> runs.Reconciled:
    """One pass over all active runs, then the alerts still owed. Never raises."""
    done = runs.Reconciled()
    try:
        with session_scope() as session:
            done = runs.reconcile_runs(session=session)
    except Exception:
        LOGGER.exception("reconciling the runs failed; the next pass tries again")
    if done.failed or done.requeued:
        LOGGER.info("reconciled runs: failed %s, put back on their queue %s", done.failed, done.requeued)
    for run_id in done.failed:
        alerts.run_finished(run_id)
    alerts.send_pending_alerts()
    digests.queue_due_digests()  # the daily digests of the people who asked for one, once a day
    return done


def heartbeat(run_ids: list[int], worker_name: str) -> None:
    """The worker `worker_name` is alive and still holds these runs. Never raises."""
    try:
        with session_scope() as session:
            runs.record_heartbeat(session=session, run_ids=run_ids, worker_name=worker_name)
    except Exception as exc:
        LOGGER.warning("could not record the heartbeat of runs %s: %s", run_ids, exc)
