"""Model zips through a real RQ worker: a zip becomes a model of the uploader, a bad zip stores
nothing, a scenario becomes a zip Calliope reads, and only its requester can download it."""

from __future__ import annotations

import io
import time
import warnings
import zipfile

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from engage_reflex.api import api
from engage_reflex.db import session_scope
from engage_reflex.models import ActivityLog, Collaborator, EnergyModel, Scenario, Upload
from engage_reflex.services import archives, storage, uploads
from engage_reflex.services.errors import EngageError, NotFound
from tests.jobs.conftest import start_worker

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _run_worker() -> None:
    proc = start_worker("short")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out


def _upload(db_url: str, user_id: int, data: bytes, filename: str):
    path = uploads.incoming_path()
    path.write_bytes(data)
    with session_scope(db_url) as session:
        return uploads.start_model_archive_upload(session=session, user_id=user_id, filename=filename,
                                                  incoming=path, size_bytes=len(data))


def _view(db_url: str, user_id: int, upload_id: int):
    with session_scope(db_url) as session:
        return uploads.archive_upload_view(session=session, user_id=user_id, upload_id=upload_id)


@pytest.fixture
def national_zip(calliope_examples_dir, tmp_path) -> bytes:
    target = archives.zip_folder(folder=calliope_examples_dir / "national_scale", target=tmp_path / "n.zip",
                                 top="national_scale")
    return target.read_bytes()


@pytest.fixture
def imported(db_url, redis_url, owner, national_zip):
    """national_scale imported from a zip by a real worker: (upload view, base scenario id)."""
    view = _upload(db_url, owner.id, national_zip, "national.zip")
    assert view.status == "queued" and view.model_id is None
    _run_worker()
    view = _view(db_url, owner.id, view.id)
    with session_scope(db_url) as session:
        base = session.exec(select(Scenario).where(Scenario.model_id == view.model_id, Scenario.name == "base")).one()
    return view, base.id


def test_a_real_worker_imports_a_zip_as_a_model_of_the_uploader(db_url, owner, other, imported):
    view, _ = imported
    assert view.status == "succeeded", view.message
    assert view.progress == 1.0 and "national.zip" in view.message
    with session_scope(db_url) as session:
        model = session.get(EnergyModel, view.model_id)
        assert model.owner_id == owner.id and not model.is_public
        assert view.model_name == model.name
        row = session.get(Upload, view.id)
        assert row.model_id == model.id and row.result["model_id"] == model.id
        assert row.result["warnings"] == list(view.warnings)
        detail = session.exec(select(ActivityLog.detail).where(ActivityLog.model_id == model.id,
                                                               ActivityLog.action == "imported")).one()
        assert detail == "Imported from national.zip"
    assert not (uploads.uploads_dir() / str(view.id)).exists(), "the zip and its unpacked files are removed"
    with session_scope(db_url) as session, pytest.raises(NotFound):  # someone else's upload is not theirs to see
        uploads.archive_upload_view(session=session, user_id=other.id, upload_id=view.id)


def test_the_same_zip_again_is_refused_by_name_with_a_hint(db_url, owner, imported, national_zip):
    view = _upload(db_url, owner.id, national_zip, "national.zip")
    _run_worker()
    view = _view(db_url, owner.id, view.id)
    assert view.status == "failed" and view.model_id is None
    assert "You already have a model called" in view.message and "config.init.name" in view.message
    with session_scope(db_url) as session:
        assert len(session.exec(select(EnergyModel)).all()) == 1


def test_a_bad_zip_through_a_real_worker_fails_in_words_and_stores_nothing(db_url, redis_url, owner):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("model/model.yaml", "import: [../../etc/passwd]\n")
        zf.writestr("model/../../evil.sh", "rm -rf /")
    view = _upload(db_url, owner.id, buffer.getvalue(), "evil.zip")
    _run_worker()
    view = _view(db_url, owner.id, view.id)
    assert view.status == "failed"
    assert view.message.startswith("evil.zip: “model/../../evil.sh” in the zip climbs out of its folder")
    with session_scope(db_url) as session:
        assert session.exec(select(EnergyModel)).all() == []
    assert not (uploads.uploads_dir() / str(view.id)).exists()
    assert not (uploads.uploads_dir().parent / "evil.sh").exists()


def _export(db_url, user_id, scenario_id):
    with session_scope(db_url) as session:
        return archives.start_scenario_export(session=session, user_id=user_id, scenario_id=scenario_id)


def test_a_viewer_exports_a_scenario_as_a_zip_calliope_reads(db_url, owner, other, imported, tmp_path):
    view, base_id = imported
    with session_scope(db_url) as session:
        session.add(Collaborator(model_id=view.model_id, user_id=other.id, can_edit=False))
    started = _export(db_url, other.id, base_id)
    assert started.status == "queued" and started.filename.endswith("-base.zip")
    _run_worker()
    with session_scope(db_url) as session:
        ready = archives.export_view(session=session, user_id=other.id, export_id=started.export_id)
        with pytest.raises(NotFound):  # the export is its requester's alone
            archives.export_view(session=session, user_id=owner.id, export_id=started.export_id)
    assert ready.status == "succeeded", ready.message
    zip_path = storage.get_store().fetch(archives.export_keys(started.export_id)[0])
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    top = started.filename.removesuffix(".zip")
    assert f"{top}/model.yaml" in names and any(n.startswith(f"{top}/data_tables/") for n in names)
    root = archives.unpack_model_archive(archive=zip_path, into=tmp_path / "unzipped")
    import calliope

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = calliope.read_yaml(root / "model.yaml",
                                   override_dict={"config.init.subset.timesteps": ["2005-01-01", "2005-01-01"]})
    assert {"ccgt", "csp", "battery"} <= set(model.inputs.techs.values)


def test_only_the_requester_downloads_the_export_until_it_is_swept(db_url, owner, other, imported):
    view, base_id = imported
    started = _export(db_url, owner.id, base_id)
    _run_worker()
    client = TestClient(api())
    forged = archives.export_link(export_id=started.export_id, user_id=other.id)
    answer = client.get(forged)
    assert answer.status_code == 404 and "no longer here" in answer.text
    own = archives.export_link(export_id=started.export_id, user_id=owner.id)
    tampered = own.replace(f"user={owner.id}", f"user={other.id}")
    assert client.get(tampered).status_code == 403
    answer = client.get(own)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert "national" in answer.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as zf:
        assert any(n.endswith("/model.yaml") for n in zf.namelist())
    assert client.get(own).status_code == 200, "a browser may fetch a download twice"
    store = storage.get_store()
    assert all(store.exists(key) for key in archives.export_keys(started.export_id))
    assert archives.sweep_exports(now=time.time() + archives.EXPORT_KEEP_SECONDS - 60) == 0
    assert archives.sweep_exports(now=time.time() + archives.EXPORT_KEEP_SECONDS + 60) == 2
    assert not any(store.exists(key) for key in archives.export_keys(started.export_id)), \
        "an export is swept an hour after it was made"
    assert client.get(own).status_code == 404


def test_nobody_can_export_a_model_they_cannot_see(db_url, other, imported):
    _, base_id = imported
    with session_scope(db_url) as session, pytest.raises(NotFound):
        archives.start_scenario_export(session=session, user_id=other.id, scenario_id=base_id)


def test_an_expired_link_is_refused(db_url, owner, imported):
    _, base_id = imported
    started = _export(db_url, owner.id, base_id)
    old = archives.export_link(export_id=started.export_id, user_id=owner.id, now=1_000_000)
    with pytest.raises(EngageError, match="expired"):
        query = dict(part.split("=") for part in old.split("?")[1].split("&"))
        archives.check_export_link(export_id=started.export_id, **query)
