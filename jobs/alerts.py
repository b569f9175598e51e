"""Email the planner when a run failed or took long. Only with SENDGRID_API_KEY set; never raises.

Every way a run can end goes through `run_finished`: the jobs themselves, rq's failure callbacks
and work-horse-killed handler, and the reconciler, which also sweeps up runs finished by a
process that cannot send alerts (the web app's list_runs/get_run). Each run is alerted at most
once: `run_finished` first claims the run's `alerted_at` with a conditional UPDATE, then sends.

A send that certainly did not reach SendGrid (connection refused, unknown host) or that SendGrid
refused for now (429, 503) gives the claim back, so a later sweep (`send_pending_alerts`, every
reconcile pass of every worker, for a day) tries again; each process then pauses its sweeps for
RETRY_PAUSE_S. Any other failure (a time-out, after which the email may have gone out; another
4xx/5xx) is logged and not retried: at most one email per run, never two.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.error import URLError

from sqlalchemy import update
from sqlmodel import Session, select

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Run, RunStatus, Scenario, User
from engage_reflex.services.runs import as_utc, utcnow
from engage_reflex.settings import Settings, get_settings

LOGGER = logging.getLogger(__name__)

SENDGRID_TIMEOUT_S = 10
# After SendGrid could not take an email, this process's sweeps wait this long before retrying.
RETRY_PAUSE_S = 60.0
# SendGrid's answers meaning "not accepted, try later".
_RETRY_LATER_STATUSES = (429, 503)
_FINAL = [s.value for s in (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)]
# time.monotonic() before which send_pending_alerts does not retry (this process only).
_sweep_paused_until = 0.0


@dataclass(frozen=True)
class Alert:
    to: str
    subject: str
    body: str


class SendFailed(Exception):
    """SendGrid did not take the email; `retry` says whether trying again later is safe and useful."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


# --- the email --------------------------------------------------------------------------------

def alert_for(run: Run, *, model_name: str, email: str, long_run_seconds: float, scenario_name: str = "",
              run_url: str = "") -> Alert | None:
    """The email a finished run deserves, if any (pure: no database, no network): a failed run
    always, a succeeded one only after more than `long_run_seconds`, a cancelled one never."""
    if not email:
        return None
    status = RunStatus(run.status)
    duration = _duration_s(run)
    took = f" after {_in_words(duration)}" if duration is not None else ""
    if status == RunStatus.failed:
        subject = f"Run {run.id} of “{model_name}” failed"
        outcome = f"failed{took}. What went wrong:\n\n{run.message or 'No reason was recorded.'}"
    elif status == RunStatus.succeeded and duration is not None and duration > long_run_seconds:
        subject = f"Run {run.id} of “{model_name}” finished{took}"
        outcome = f"succeeded{took}.\n\n{run.message}".rstrip()
    else:
        return None
    of_what = f"the model “{model_name}”" + (f", scenario “{scenario_name}”," if scenario_name else "")
    solver = getattr(run.solver, "value", run.solver)
    lines = [
        f"Your run {run.id} of {of_what} {outcome}",
        f"Period: {run.subset_start or 'model default'} to {run.subset_end or 'model default'}, "
        f"resolution {run.resample or 'model default'}, solver {solver}.",
    ]
    if run_url:
        lines.append(f"Open the run: {run_url}")
    lines.append(f"Engage emails you when one of your runs fails, or ends after more than "
                 f"{_in_words(long_run_seconds)}.")
    return Alert(to=email, subject=subject, body="\n\n".join(lines) + "\n")


def _duration_s(run: Run) -> float | None:
    began = run.started_at or run.created_at
    if not (run.finished_at and began):
        return None
    return (as_utc(run.finished_at) - as_utc(began)).total_seconds()


def _in_words(seconds: float) -> str:
    """20 minutes, 1 hour 5 minutes, 45 seconds."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return _count(seconds, "second")
    hours, minutes = divmod(round(seconds / 60), 60)
    parts = ([_count(hours, "hour")] if hours else []) + ([_count(minutes, "minute")] if minutes else [])
    return " ".join(parts)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


# --- who gets it, once ------------------------------------------------------------------------

def run_finished(run_id: int) -> None:
    """Email the owner of the finished run `run_id` if it deserves it, at most once whoever calls."""
    try:
        settings = get_settings()
        claimed_at = utcnow()
        with session_scope() as session:
            if not _claim(session, run_id, claimed_at):  # already alerted (or not finished)
                return
            alert = _alert_of(session, run_id, settings)
        if alert is None:
            return
        if not settings.sendgrid_api_key:
            LOGGER.info("no SENDGRID_API_KEY: not emailing %s: %s", alert.to, alert.subject)
            return
        try:
            send(alert, api_key=settings.sendgrid_api_key, sender=settings.email_from,
                 host=settings.sendgrid_api_host)
        except SendFailed as exc:
            _send_failed(run_id, claimed_at, alert, exc)
    except Exception:  # an alert must never change how a run ends
        LOGGER.exception("could not send the alert for run %s", run_id)


def _claim(session: Session, run_id: int, claimed_at: datetime) -> bool:
    claimed = session.exec(
        update(Run)
        .where(Run.id == run_id, Run.alerted_at.is_(None), Run.status.in_(_FINAL))
        .values(alerted_at=claimed_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return claimed > 0


def _alert_of(session: Session, run_id: int, settings: Settings) -> Alert | None:
    run = session.get(Run, run_id)
    if run is None:
        return None
    user = session.get(User, run.user_id) if run.user_id else None
    model = session.get(EnergyModel, run.model_id)
    scenario = session.get(Scenario, run.scenario_id)
    return alert_for(run, model_name=model.name if model else "", email=user.email if user else "",
                     long_run_seconds=settings.long_run_alert_seconds,
                     scenario_name=scenario.name if scenario else "", run_url=f"{settings.public_url}/runs/{run_id}")


def _send_failed(run_id: int, claimed_at: datetime, alert: Alert, exc: SendFailed) -> None:
    global _sweep_paused_until
    if not exc.retry:
        LOGGER.error("could not email %s about run %s (not retried): %s", alert.to, run_id, exc)
        return
    _sweep_paused_until = time.monotonic() + RETRY_PAUSE_S
    # Give the claim back, unless someone else holds it by now (a late success resets it).
    with session_scope() as session:
        session.exec(update(Run).where(Run.id == run_id, Run.alerted_at == claimed_at).values(alerted_at=None)
                     .execution_options(synchronize_session=False))
    LOGGER.warning("could not email %s about run %s, trying again later: %s", alert.to, run_id, exc)


def send_pending_alerts(*, within: timedelta = timedelta(days=1), limit: int = 50) -> list[int]:
    """Alert the runs that finished (within `within`) without their alert: ended by a process
    that does not send alerts, by one that died before sending it, or while SendGrid could not
    take emails. Returns their ids."""
    if time.monotonic() < _sweep_paused_until:
        return []
    try:
        with session_scope() as session:
            ids = list(session.exec(
                select(Run.id)
                .where(Run.alerted_at.is_(None), Run.status.in_(_FINAL), Run.finished_at >= utcnow() - within)
                .order_by(Run.id).limit(limit)
            ).all())
    except Exception:
        LOGGER.exception("could not look for runs to alert")
        return []
    done = []
    for run_id in ids:
        if time.monotonic() < _sweep_paused_until:  # SendGrid just failed us: the rest waits too
            break
        run_finished(run_id)
        done.append(run_id)
    return done


# --- SendGrid ---------------------------------------------------------------------------------

def send(alert: Alert, *, api_key: str, sender: str, host: str = "https://api.sendgrid.com") -> None:
    """POST the email to SendGrid's v3 mail-send endpoint at `host`; SendFailed if not accepted."""
    from python_http_client.exceptions import HTTPError as SendGridHTTPError
    from sendgrid import SendGridAPIClient
    from sendgrid.helpers.mail import Mail

    message = Mail(from_email=sender, to_emails=alert.to, subject=alert.subject, plain_text_content=alert.body)
    client = SendGridAPIClient(api_key=api_key, host=host)
    try:
        # With a time limit (SendGridAPIClient.send has none): workers send alerts from their
        # supervision loop, and a hung connection there would stall a running job's heartbeats.
        response = client.client.mail.send.post(request_body=message.get(), timeout=SENDGRID_TIMEOUT_S)
    except SendGridHTTPError as exc:
        detail = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
        raise SendFailed(f"SendGrid at {host} answered {exc.status_code} {exc.reason}: {detail[:300]}",
                         retry=exc.status_code in _RETRY_LATER_STATUSES) from exc
    except (URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, URLError) else exc
        # Refused or unknown host: nothing was sent. A time-out or a dropped connection may come
        # after SendGrid took the email, so those are not retried.
        unsent = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
        raise SendFailed(f"SendGrid at {host} could not be reached ({reason})", retry=unsent) from exc
    LOGGER.info("alert for %s sent (SendGrid status %s)", alert.to, response.status_code)
