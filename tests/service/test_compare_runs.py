"""Comparing two solved runs of the national-scale sample: the battery's flow_cap_max doubles between them.

Both runs are real: started with runs.start_run, then built and solved in this process by the same job
functions a worker runs (jobs.tasks), so their results and inputs.zip are what the app keeps.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlmodel import select

from engage_reflex.models import Run, Technology, TechParameter
from engage_reflex.services import compare, runs, storage
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.settings import get_settings
from tests.jobs.conftest import make_user, national  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow
DAY = dict(solver="highs", subset_start="2005-01-01", subset_end="2005-01-01", resample="")


def _solve(session, user, scenario, **options) -> Run:
    from jobs import tasks

    view = runs.start_run(session=session, user_id=user.id, scenario_id=scenario.id, **{**DAY, **options})
    assert tasks.build_run(view.id) == "prepared"
    assert tasks.solve_run(view.id) == "succeeded"
    session.expire_all()
    run = session.get(Run, view.id)
    assert run.status == "succeeded", run.message
    return run


def _set_tech_value(session, model_id: int, tech: str, name: str, value: float) -> None:
    tech_id = session.exec(select(Technology.id).where(Technology.model_id == model_id,
                                                       Technology.name == tech)).one()
    row = session.exec(select(TechParameter).where(TechParameter.technology_id == tech_id,
                                                   TechParameter.name == name)).first()
    row.value = value
    session.add(row)
    session.commit()


def test_compare_two_solved_runs(session, redis_url, national):  # noqa: F811
    """One test per database: each solve costs seconds, so the runs are solved once and then read
    three ways (as solved; with edited inputs; with files missing and bad choices)."""
    model, scenario = national
    planner = make_user(session, "planner@example.org")
    first = _solve(session, planner, scenario)
    _set_tech_value(session, model.id, "battery", "flow_cap_max", 2000.0)
    second = _solve(session, planner, scenario)
    solved = {"model": model, "scenario": scenario, "planner": planner, "first": first, "second": second}
    _the_changed_parameter_and_the_capacity_it_changed(session, solved)
    _switches_and_data_in_planner_words(session, solved)
    _refusals(session, solved)


def _the_changed_parameter_and_the_capacity_it_changed(session, solved):
    planner, first, second = solved["planner"], solved["first"], solved["second"]
    view = compare.compare_runs(session=session, user_id=planner.id, model_id=solved["model"].id,
                                run_a=first.id, run_b=second.id)
    assert view.inputs_note == ""
    texts = [change.text for change in view.input_changes]
    assert "battery: flow_cap_max 1000 → 2000" in texts, texts
    battery = next(c for c in view.input_changes if c.text.startswith("battery: flow_cap_max"))
    assert battery.section == "Technologies" and battery.first == "1000" and battery.title
    assert texts == ["battery: flow_cap_max 1000 → 2000"]  # nothing else differs

    assert view.objective_first == pytest.approx(first.objective)
    assert view.objective_delta == pytest.approx(second.objective - first.objective)
    battery_cap = [d for d in view.capacity_changes if d.tech == "battery" and d.group.startswith("flow capacity")]
    assert battery_cap and battery_cap[0].node == "region2" and battery_cap[0].delta > 0
    assert battery_cap[0].first == pytest.approx(1000.0) and battery_cap[0].unit == view.capacity_unit == "kW"
    assert all(d.delta != 0 for d in view.capacity_changes)
    assert view.capacity_unchanged >= 1
    assert not any(d.tech == "demand_power" for d in view.capacity_changes)  # demand is not built capacity
    monetary = view.cost_totals[0]
    assert monetary.cost_class == "monetary" and monetary.delta != 0
    assert view.techs.set_index("tech").loc["battery", "color"]

    choices = compare.comparable_runs(session=session, user_id=planner.id, model_id=solved["model"].id)
    assert [c.id for c in choices] == [str(second.id), str(first.id)]
    assert choices[0].label.startswith(f"#{second.id} · base · ")


def _stored(run, name: str):
    """The run's artefact file in the (local) run files store."""
    return storage.get_store().local_path(storage.join_key(runs.results_dir(run), run.artefacts[name]))


def _switches_and_data_in_planner_words(session, solved):
    """Definitions and data tables edited inside the zips (the runs' own), as a later run would differ."""
    first, second = solved["first"], solved["second"]
    path = _stored(second, "inputs")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    yaml_text = members["model/model.yaml"].decode()
    yaml_text = yaml_text.replace("      battery: {}", "      battery:\n        active: false")
    yaml_text = yaml_text.replace("  init:\n", "  init:\n    resample:\n      timesteps: 6h\n", 1)
    members["model/model.yaml"] = yaml_text.encode()
    table = next(n for n in members if n.endswith("timeseries_node.csv"))
    lines = members[table].decode().splitlines()
    row = lines[10].split(",")
    row[1] = str(float(row[1]) + 1000)  # demand_power at region1, one hour
    lines[10] = ",".join(row)
    members[table] = ("\n".join(lines) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    second.resample = "6h"  # as the run options of a run at 6-hour steps say
    session.add(second)
    session.commit()

    view = compare.compare_runs(session=session, user_id=solved["planner"].id, model_id=solved["model"].id,
                                run_a=first.id, run_b=second.id)
    texts = [c.text for c in view.input_changes]
    assert "battery: switched off at region2" in texts, texts
    # The resolution is said once, as a run option (not again as config.init.resample).
    assert [t for t in texts if "6h" in t] == ["Time steps: as the data → every 6h"], texts
    demand = next(c for c in view.input_changes if c.subject == "demand_power at region1")
    assert demand.section == "Data tables" and demand.what == "sink_use_equals"
    assert "1 of 8,760 values differ" in demand.text, demand.text


def _refusals(session, solved):
    planner, first, second = solved["planner"], solved["first"], solved["second"]
    model_id = solved["model"].id

    def compare_as(user_id, a, b, model=model_id):
        return compare.compare_runs(session=session, user_id=user_id, model_id=model, run_a=a, run_b=b)

    with pytest.raises(EngageError, match="Pick two different runs"):
        compare_as(planner.id, first.id, first.id)
    stranger = make_user(session, "stranger@example.org")
    with pytest.raises(NotFound, match=f"no run with id {first.id}"):
        compare_as(stranger.id, first.id, second.id)

    # A run that did not succeed, and a run of another model.
    failed = Run(model_id=model_id, scenario_id=solved["scenario"].id, user_id=planner.id, status="failed",
                 message="Infeasible")
    session.add(failed)
    session.commit()
    with pytest.raises(EngageError, match=f"Run #{failed.id} has failed"):
        compare_as(planner.id, first.id, failed.id)
    from engage_reflex.models import EnergyModel, Scenario

    own = EnergyModel(name="Mine", owner_id=planner.id)
    session.add(own)
    session.commit()
    scenario = Scenario(model_id=own.id, name="base")
    session.add(scenario)
    session.commit()
    elsewhere = Run(model_id=own.id, scenario_id=scenario.id, user_id=planner.id, status="succeeded")
    session.add(elsewhere)
    session.commit()
    with pytest.raises(EngageError, match="belongs to another model"):
        compare_as(planner.id, first.id, elsewhere.id)

    # A run whose inputs were not kept (solved before inputs.zip existed) still compares its results.
    _stored(first, "inputs").unlink()
    view = compare_as(planner.id, first.id, second.id)
    assert f"Run #{first.id} was solved before Engage kept each run's inputs" in view.inputs_note
    assert [c.section for c in view.input_changes] == ["Run options"]
    assert view.capacity_changes

    # Result files gone: refused with what to do.
    _stored(second, "capacity").unlink()
    with pytest.raises(EngageError, match=f"result files of run #{second.id} are missing"):
        compare_as(planner.id, first.id, second.id)
    assert get_settings().data_dir.is_dir()
