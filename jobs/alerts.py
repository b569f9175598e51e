"""Email the planner when a run failed or took long. Only with SENDGRID_API_KEY set; never raises.

Every way a run can end goes through `run_finished`: the jobs themselves, rq's failure callbacks
and work-horse-killed handler, and the reconciler, which also sweeps up runs finished by a
process that cannot send alerts (the web app's list_runs/get_run). Each run is alerted at most
once: `run_finished` first claims the run's `alerted_at` with a conditional UPDATE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Run, RunStatus, User
from engage_reflex.services.runs import as_utc, utcnow
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    to: str
    subject: str
    body: str


def alert_for(run: Run, *, model_name: str, email: str, long_run_seconds: float) -> Alert | None:
    """The email a finished run deserves, if any (pure: no database, no network)."""
    if not email:
        return None
    status = RunStatus(run.status)
    duration = None
    if run.finished_at and (run.started_at or run.created_at):
        duration = (as_utc(run.finished_at) - as_utc(run.started_at or run.created_at)).total_seconds()
    if status == RunStatus.failed:
        subject = f"Run {run.id} of “{model_name}” failed"
    elif status == RunStatus.succeeded and duration is not None and duration > long_run_seconds:
        subject = f"Run {run.id} of “{model_name}” finished after {duration / 60:.0f} minutes"
    else:
        return None
    body = (f"{subject}.\n\n{run.message}\n\n"
            f"Period: {run.subset_start or 'model default'} to {run.subset_end or 'model default'}, "
            f"resolution {run.resample or 'model default'}, solver {getattr(run.solver, 'value', run.solver)}.\n")
    return Alert(to=email, subject=subject, body=body)


def run_finished(run_id: int) -> None:
    try:
        settings = get_settings()
        with session_scope() as session:
            claimed = session.exec(
                update(Run)
                .where(Run.id == run_id, Run.alerted_at.is_(None), Run.status.in_(_FINAL))
                .values(alerted_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
            if not claimed:  # already alerted (or not finished)
                return
            run = session.get(Run, run_id)
            if run is None:
                return
            user = session.get(User, run.user_id) if run.user_id else None
            model = session.get(EnergyModel, run.model_id)
            alert = alert_for(run, model_name=model.name if model else "", email=user.email if user else "",
                              long_run_seconds=settings.long_run_alert_seconds)
        if alert is None:
            return
        if not settings.sendgrid_api_key:
            LOGGER.info("no SENDGRID_API_KEY: not emailing %s: %s", alert.to, alert.subject)
            return
        send(alert, api_key=settings.sendgrid_api_key, sender=settings.email_from)
    except Exception:  # an alert must never change how a run ends
        LOGGER.exception("could not send the alert for run %s", run_id)


_FINAL = [s.value for s in (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)]


def send_pending_alerts(*, within: timedelta = timedelta(days=1), limit: int = 50) -> list[int]:
    """Alert the runs that finished (within `within`) without their alert: ended by a process
    that does not send alerts, or by one that died before sending it. Returns their ids."""
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
    for run_id in ids:
        run_finished(run_id)
    return ids


SENDGRID_TIMEOUT_S = 10


def send(alert: Alert, *, api_key: str, sender: str) -> None:
    from sendgrid import SendGridAPIClient
    from sendgrid.helpers.mail import Mail

    message = Mail(from_email=sender, to_emails=alert.to, subject=alert.subject, plain_text_content=alert.body)
    # With a time limit (SendGridAPIClient.send has none): workers send alerts from their
    # supervision loop, and a hung connection there would stall a running job's heartbeats.
    response = SendGridAPIClient(api_key).client.mail.send.post(request_body=message.get(),
                                                                timeout=SENDGRID_TIMEOUT_S)
    LOGGER.info("alert for %s sent (SendGrid status %s)", alert.to, response.status_code)
