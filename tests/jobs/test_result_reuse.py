"""A run whose inputs, solver and Calliope version equal a succeeded run's is answered from that run's
results at once (copied: each run owns its files); "Solve again anyway" solves it; a changed input solves."""

from __future__ import annotations

import pytest

from engage_reflex.models import Technology, TechParameter
from engage_reflex.services import runs
from tests.jobs.conftest import make_user, start_worker, watch_run

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
DAY = dict(solver="highs", subset_start="2005-01-01", subset_end="2005-01-01", resample="")


def _run(db_url, session, planner, scenario, **options):
    view = runs.start_run(session=session, user_id=planner.id, scenario_id=scenario.id, **DAY, **options)
    run, _, output = watch_run(db_url, view.id, start_worker("short", "long"))
    assert run.status == "succeeded", (run.message, output[-2000:])
    return run


def test_same_inputs_reuse_results_and_solve_again_solves(db_url, session, redis_url, national):
    model, scenario = national
    planner = make_user(session, "planner@example.org")
    first = _run(db_url, session, planner, scenario)
    assert first.reused_from_id is None and first.input_hash

    second = _run(db_url, session, planner, scenario)
    assert second.reused_from_id == first.id and second.objective == first.objective
    assert second.input_hash == first.input_hash
    assert second.message.startswith(f"Reused the results of run #{first.id}: same inputs, solver and Calliope")
    assert second.timings["total_s"] < first.timings["total_s"]
    assert second.artefact_dir != first.artefact_dir  # its own copy: deleting the first keeps it
    _, folders = runs.delete_run(session=session, user_id=planner.id, run_id=first.id)
    session.commit()
    from engage_reflex.services.models import remove_run_folders

    remove_run_folders(folders)
    from engage_reflex.services import storage

    key = runs.run_artefact(session=session, user_id=planner.id, run_id=second.id, name="netcdf")
    assert storage.get_store().size(key) > 0
    shown = runs.get_run(session=session, user_id=planner.id, run_id=second.id)
    assert shown.reused_from == first.id and shown.has_results
    from engage_reflex.services import results

    page = results.load_results(session=session, user_id=planner.id, run_id=second.id)  # what its page shows
    assert not page.capacity.empty and page.run.reused_from == first.id

    third = runs.solve_again(session=session, user_id=planner.id, run_id=second.id)
    solved, _, _ = watch_run(db_url, third.id, start_worker("short", "long"))
    assert solved.status == "succeeded" and solved.reused_from_id is None and solved.solve_again
    assert solved.objective == pytest.approx(first.objective, rel=1e-9)

    # A changed input is solved, not reused.
    tech = session.query(Technology).filter(Technology.model_id == model.id, Technology.name == "ccgt").one()
    row = session.query(TechParameter).filter(TechParameter.technology_id == tech.id,
                                              TechParameter.name == "flow_cap_max").first()
    row.value = float(row.value) * 0.5
    session.add(row)
    session.commit()
    changed = _run(db_url, session, planner, scenario)
    assert changed.reused_from_id is None and changed.input_hash != first.input_hash
