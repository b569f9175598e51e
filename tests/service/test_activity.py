"""Every edit leaves a line in the activity log and puts the runs that read the old inputs out of date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from engage_reflex.models import EnergyModel, Run, RunStatus, Scenario, User
from engage_reflex.services import activity
from engage_reflex.services.errors import NotFound


def test_record_change_logs_and_marks_started_runs_out_of_date(session):
    owner = User(email="owner@example.org", password_hash="!", display_name="Olga")
    stranger = User(email="stranger@example.org", password_hash="!")
    session.add_all([owner, stranger])
    session.flush()
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    model = EnergyModel(name="Valley", owner_id=owner.id, updated_at=long_ago)
    session.add(model)
    session.flush()
    scenario = Scenario(model_id=model.id, name="base")
    session.add(scenario)
    session.flush()
    started = long_ago + timedelta(hours=1)
    runs = {
        "waiting": Run(model_id=model.id, scenario_id=scenario.id, status=RunStatus.queued),
        "solved": Run(model_id=model.id, scenario_id=scenario.id, status=RunStatus.succeeded, started_at=started),
        "failed": Run(model_id=model.id, scenario_id=scenario.id, status=RunStatus.failed, started_at=started),
    }
    session.add_all(runs.values())
    session.commit()

    activity.record_change(session=session, model=model, user_id=owner.id, action="location_added",
                           detail="Added location “Oslo”")
    session.commit()

    out_of_date = {name: session.get(Run, run.id).is_out_of_date for name, run in runs.items()}
    # The waiting run has not read the inputs yet: it will solve the changed model.
    assert out_of_date == {"waiting": False, "solved": True, "failed": True}
    assert session.get(EnergyModel, model.id).updated_at.replace(tzinfo=UTC) > long_ago

    activity.record_change(session=session, model=model, user_id=None, action="imported", detail="Second line")
    session.commit()
    feed = activity.list_activity(session=session, user_id=owner.id, model_id=model.id)
    assert [(e.who, e.detail) for e in feed] == [("", "Second line"), ("Olga", "Added location “Oslo”")]
    with pytest.raises(NotFound):
        activity.list_activity(session=session, user_id=stranger.id, model_id=model.id)
    assert len(session.exec(select(Run).where(Run.is_out_of_date)).all()) == 2
