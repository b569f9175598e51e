"""Rerun and delete: an out-of-date run says how many edits it missed, and "Rerun with current inputs"
starts the same run (scenario, solver, dates, resolution) on the model as it is now; a finished run
can be deleted with its files, a running one cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from engage_reflex.models import Run, Scenario, User
from engage_reflex.services import calliope_io, parameters, runs
from engage_reflex.services.errors import EngageError, NotFound

EXAMPLES = Path(__import__("calliope").__file__).parent / "example_models"


@pytest.fixture
def sample(session, redis_url):
    owner, stranger = User(email="owner@example.org", password_hash="!"), User(email="x@example.org",
                                                                                  password_hash="!")
    session.add_all([owner, stranger])
    session.commit()
    report = calliope_io.import_model_directory(session=session, path=EXAMPLES / "national_scale",
                                                owner_id=owner.id)
    base = session.exec(select(Scenario.id).where(Scenario.model_id == report.model_id,
                                                  Scenario.name == "base")).one()
    session.commit()
    return dict(owner=owner.id, stranger=stranger.id, model=report.model_id, base=base)


def test_edits_since_are_counted_and_rerun_repeats_the_run(session, sample):
    with pytest.raises(EngageError, match="The run's notes are 2,001 characters long; keep them to 2,000."):
        runs.start_run(session=session, user_id=sample["owner"], scenario_id=sample["base"], solver="cbc",
                       subset_start="2005-01-01", subset_end="2005-01-02", resample="6h", notes="x" * 2001)
    first = runs.start_run(session=session, user_id=sample["owner"], scenario_id=sample["base"], solver="cbc",
                           subset_start="2005-01-01", subset_end="2005-01-02", resample="6h",
                           notes="  Cheaper gas turbines  ")
    assert first.notes == "Cheaper gas turbines"
    row = session.get(Run, first.id)
    from engage_reflex.models._common import utcnow

    row.started_at = utcnow()  # as the build job does when it reads the inputs
    row.status = "succeeded"
    session.add(row)
    session.commit()
    tech_id = parameters_tech_id(session, sample["model"], "ccgt")
    for value in ("700", "800"):
        parameters.set_tech_parameter(session=session, user_id=sample["owner"], tech_id=tech_id,
                                      name="cost_flow_cap", raw=value, cost_class="monetary")
        session.commit()
    [listed] = [r for r in runs.list_runs(session=session, user_id=sample["owner"], model_id=sample["model"])
                if r.id == first.id]
    assert listed.is_out_of_date and listed.edits_since == 2

    row.status = "solving"
    session.add(row)
    session.commit()
    with pytest.raises(EngageError, match=f"Run #{first.id} has not finished yet"):
        runs.rerun(session=session, user_id=sample["owner"], run_id=first.id)
    row.status = "succeeded"
    session.add(row)
    session.commit()

    again = runs.rerun(session=session, user_id=sample["owner"], run_id=first.id)
    assert again.id != first.id and again.status == "queued"
    assert (again.scenario_name, again.solver, again.subset_start, again.subset_end, again.resample) == \
        ("base", "cbc", "2005-01-01", "2005-01-02", "6h")
    assert not again.is_out_of_date and again.edits_since == 0
    assert again.notes == f"Rerun of #{first.id} with current inputs. Cheaper gas turbines"
    with pytest.raises(NotFound):
        runs.rerun(session=session, user_id=sample["stranger"], run_id=first.id)


def parameters_tech_id(session, model_id: int, name: str) -> int:
    from engage_reflex.models import Technology

    return session.exec(select(Technology.id).where(Technology.model_id == model_id,
                                                    Technology.name == name)).one()


def test_delete_a_finished_run_and_its_files(session, sample):
    from engage_reflex.services.models import remove_run_folders
    from engage_reflex.settings import get_settings

    first = runs.start_run(session=session, user_id=sample["owner"], scenario_id=sample["base"], solver="highs",
                           subset_start="2005-01-01", subset_end="2005-01-01", resample=None)
    other = runs.start_run(session=session, user_id=sample["owner"], scenario_id=sample["base"], solver="cbc",
                           subset_start="2005-01-01", subset_end="2005-01-01", resample=None)
    settings = get_settings()
    folders = {}
    for run_id in (first.id, other.id):
        folder = settings.runs_dir / str(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.nc").write_text("results")
        folders[run_id] = folder
    with pytest.raises(EngageError, match=f"Run #{first.id} is still going. Cancel it first"):
        runs.delete_run(session=session, user_id=sample["owner"], run_id=first.id)
    with pytest.raises(NotFound):
        runs.delete_run(session=session, user_id=sample["stranger"], run_id=first.id)
    row = session.get(Run, first.id)
    row.status = "failed"
    session.add(row)
    session.commit()

    deleted, to_remove = runs.delete_run(session=session, user_id=sample["owner"], run_id=first.id)
    session.commit()
    remove_run_folders(to_remove)
    assert deleted == first.id and session.get(Run, first.id) is None
    assert not folders[first.id].exists() and folders[other.id].exists()  # only that run's files
