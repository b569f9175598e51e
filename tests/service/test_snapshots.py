"""Snapshots (services/snapshots.py) on SQLite and PostgreSQL: a numbered, frozen copy of a model
with its runs' results; read by whoever reads the model, changed by nobody; its export stays the
model's export at snapshot time after the model is edited further; a model copied from it equals
it; it goes with its model."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from sqlmodel import select

from engage_reflex.models import Comment, EnergyModel, Run, RunStatus, Scenario, Technology
from engage_reflex.services import calliope_io, feed, models, parameters, run_logs, runs, sharing, snapshots, storage, users
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied
from tests.service.test_calliope_io import write_tiny_model

PASSWORD = "a-long-password"


@pytest.fixture
def grid(session, tmp_path):
    ids = {name: users.register(session=session, email=f"{name}@example.org", password=PASSWORD).id
           for name in ("owner", "reviewer", "stranger")}
    session.commit()
    ids["model"] = calliope_io.import_model_directory(session=session, path=write_tiny_model(tmp_path / "tiny"),
                                                      owner_id=ids["owner"]).model_id
    session.commit()
    sharing.share(session=session, user_id=ids["owner"], model_id=ids["model"], email="reviewer@example.org",
                  can_edit=False)
    base = session.exec(select(Scenario).where(Scenario.model_id == ids["model"], Scenario.name == "base")).one()
    run = Run(model_id=ids["model"], scenario_id=base.id, user_id=ids["owner"], status=RunStatus.succeeded,
              objective=42.0, artefact_dir=f"runs/{ids['model']}00/results", artefacts={"netcdf": "model.nc"})
    session.add(run)
    session.commit()
    ids["run"], ids["base"] = run.id, base.id
    return ids


def _export(session, model_id: int, folder: Path) -> Path:
    base = session.exec(select(Scenario.id).where(Scenario.model_id == model_id, Scenario.name == "base")).one()
    return calliope_io.export_scenario(session=session, scenario_id=base).write_directory(folder).parent


def _same_folders(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def test_a_snapshot_keeps_the_model_as_it_was_with_its_runs(session, grid, tmp_path):
    before = _export(session, grid["model"], tmp_path / "before")
    first = snapshots.create_snapshot(session=session, user_id=grid["owner"], model_id=grid["model"])
    session.commit()
    assert (first.name, first.version, first.runs) == ("Tiny model [v1]", 1, 1)

    # The model goes on changing; the snapshot does not.
    pv = session.exec(select(Technology).where(Technology.model_id == grid["model"], Technology.name == "pv")).one()
    parameters.set_tech_parameter(session=session, user_id=grid["owner"], tech_id=pv.id, name="flow_cap_max",
                                  raw="123")
    session.commit()
    assert not _same_folders(before, _export(session, grid["model"], tmp_path / "after"))
    assert _same_folders(before, _export(session, first.id, tmp_path / "snapshot"))

    second = snapshots.create_snapshot(session=session, user_id=grid["owner"], model_id=grid["model"])
    session.commit()
    assert second.name == "Tiny model [v2]"
    listed = snapshots.list_snapshots(session=session, user_id=grid["reviewer"], model_id=grid["model"])
    assert [s.name for s in listed] == ["Tiny model [v2]", "Tiny model [v1]"]
    assert [m.name for m in models.list_models(session=session, user_id=grid["owner"])] == ["Tiny model"]

    # Its run is there, with the same results; the model's runs did not go out of date by it.
    kept = runs.list_runs(session=session, user_id=grid["reviewer"], model_id=first.id)
    assert [(r.objective, r.status) for r in kept] == [(42.0, "succeeded")]
    assert not session.get(Run, grid["run"]).is_out_of_date
    # ...and the full log of the run it copies (kept beside the results it shares).
    assert not run_logs.run_log_view(session=session, user_id=grid["reviewer"], run_id=kept[0].id).has_raw_log
    source_log = storage.join_key(f"runs/{grid['model']}00", run_logs.RAW_LOG_FILE)
    storage.get_store().write_bytes(source_log, b"Calliope and HiGHS said all this\n")
    assert run_logs.run_log_view(session=session, user_id=grid["reviewer"], run_id=kept[0].id).has_raw_log
    assert run_logs.raw_log_path(session=session, user_id=grid["reviewer"], run_id=kept[0].id) == source_log

    # A model copied from the snapshot is the snapshot, editable.
    copied = models.copy_model(session=session, user_id=grid["reviewer"], source_model_id=first.id)
    session.commit()
    assert copied.role == "owner" and _same_folders(before, _export(session, copied.id, tmp_path / "copy"))


def test_nobody_changes_a_snapshot_and_it_is_read_as_its_model_is(session, grid):
    snap = snapshots.create_snapshot(session=session, user_id=grid["owner"], model_id=grid["model"])
    session.commit()
    for user in (grid["owner"], grid["reviewer"]):
        header = models.get_model_header(session=session, user_id=user, model_id=snap.id)
        assert header.is_snapshot and header.snapshot_of_name == "Tiny model" and not header.can_edit
        with pytest.raises(PermissionDenied, match="is a snapshot"):
            models.rename_model(session=session, user_id=user, model_id=snap.id, name="Changed")
    kept_run = runs.list_runs(session=session, user_id=grid["owner"], model_id=snap.id)[0]
    with pytest.raises(PermissionDenied, match="kept with the snapshot"):
        runs.delete_run(session=session, user_id=grid["owner"], run_id=kept_run.id)
    snap_base = session.exec(select(Scenario.id).where(Scenario.model_id == snap.id)).first()
    with pytest.raises(EngageError, match="is a snapshot"):
        runs.start_run(session=session, user_id=grid["owner"], scenario_id=snap_base, solver="highs",
                       subset_start="2005-01-01", subset_end="2005-01-01", resample=None)
    with pytest.raises(PermissionDenied, match="Share the model itself"):
        sharing.share(session=session, user_id=grid["owner"], model_id=snap.id, email="stranger@example.org",
                      can_edit=True)
    with pytest.raises(PermissionDenied):  # only editors take snapshots
        snapshots.create_snapshot(session=session, user_id=grid["reviewer"], model_id=grid["model"])
    for reader in (grid["stranger"], None):
        with pytest.raises(NotFound):
            models.get_model_header(session=session, user_id=reader, model_id=snap.id)
    # The model's people talk about the snapshot (what was presented) among themselves, by address.
    feed.post_comment(session=session, user_id=grid["reviewer"], model_id=snap.id, body="The board liked v1.")
    seen = feed.model_feed(session=session, user_id=grid["owner"], model_id=snap.id)
    assert seen.can_comment and [(i.text, i.who, i.is_new) for i in seen.items if i.kind == "comment"] == [
        ("The board liked v1.", "reviewer@example.org", True)]
    sharing.set_public(session=session, user_id=grid["owner"], model_id=grid["model"], public=True)
    session.commit()
    assert models.get_model_header(session=session, user_id=None, model_id=snap.id).role == "viewer"


def test_a_snapshot_goes_with_its_model_and_keeps_the_files_it_shares(session, grid):
    snap = snapshots.create_snapshot(session=session, user_id=grid["owner"], model_id=grid["model"])
    session.commit()
    shared = f"runs/{grid['model']}00/results"
    # Deleting the model's run keeps the results its snapshot still names.
    _, folders = runs.delete_run(session=session, user_id=grid["owner"], run_id=grid["run"])
    session.commit()
    assert shared not in folders
    feed.post_comment(session=session, user_id=grid["reviewer"], model_id=snap.id, body="Keep this one.")
    deleted = models.delete_model(session=session, user_id=grid["owner"], model_id=grid["model"])
    session.commit()
    assert shared in deleted.run_folders  # the last run naming them went with the snapshot
    assert session.get(EnergyModel, snap.id) is None
    assert session.exec(select(Comment)).all() == []  # and its comments with it
