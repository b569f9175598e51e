"""Uploads whose files live in an S3 store (moto's server over HTTP), read by real rq workers that
have their own data dir: only the store connects the app and the worker, as on two machines."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Timeseries, Upload
from engage_reflex.services import archives, storage, uploads
from engage_reflex.settings import get_settings
from tests.jobs.conftest import start_worker
from tests.s3_store import bucket_keys, moto_endpoint, s3_store  # noqa: F401

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
CSV = "time,demand,wind\n2024-01-01 00:00,1.5,0.1\n2024-01-01 01:00,2.5,0.2\n2024-01-01 02:00,3.5,0.3\n"


def _keys(s3_store, upload_id: int) -> list[str]:  # noqa: F811
    prefix = f"{s3_store['prefix']}/uploads/{upload_id}/"
    return sorted(k[len(prefix):] for k in bucket_keys(s3_store["endpoint"], s3_store["bucket"])
                  if k.startswith(prefix))


def _incoming(data: bytes):
    path = uploads.incoming_path()
    path.write_bytes(data)
    return path, len(data)


def _worker_elsewhere(tmp_path) -> None:
    """A short-queue worker on "another machine": its data dir is not the app's."""
    proc = start_worker("short", ENGAGE_DATA_DIR=str(tmp_path / "worker-machine"))
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]


@pytest.fixture
def model_id(session, owner) -> int:
    model = EnergyModel(name="Loads", owner_id=owner.id, time_zone="UTC")
    session.add(model)
    session.commit()
    return model.id


def test_a_csv_in_s3_is_read_and_stored_by_a_worker_of_another_machine(db_url, redis_url, owner, model_id,
                                                                       s3_store, tmp_path):  # noqa: F811
    path, size = _incoming(CSV.encode())
    with session_scope(db_url) as session:
        view = uploads.start_timeseries_upload(session=session, user_id=owner.id, model_id=model_id,
                                               filename="loads.csv", incoming=path, size_bytes=size)
    assert not path.exists(), "the incoming file is gone once it is in the store"
    assert _keys(s3_store, view.id) == ["original"]
    assert not (uploads.uploads_dir() / str(view.id)).exists(), "nothing of it on the app's disk"
    with session_scope(db_url) as session:
        assert session.get(Upload, view.id).stored_path == f"uploads/{view.id}/original"

    _worker_elsewhere(tmp_path)
    with session_scope(db_url) as session:
        view = uploads.upload_view(session=session, user_id=owner.id, upload_id=view.id)
    assert view.status == "inspected", view.message
    assert [c.name for c in view.columns] == ["time", "demand", "wind"] and view.data_rows == 3

    with session_scope(db_url) as session:  # reading it again finds the file in the store
        view = uploads.reread_upload(session=session, user_id=owner.id, upload_id=view.id, delimiter=",",
                                     decimal=".", header_row=1)
    _worker_elsewhere(tmp_path)
    with session_scope(db_url) as session:
        view = uploads.choose_series(session=session, user_id=owner.id, upload_id=view.id, timestamp_column="time",
                                     series=[("demand", "demand")], unit="MW")
    _worker_elsewhere(tmp_path)

    with session_scope(db_url) as session:
        view = uploads.upload_view(session=session, user_id=owner.id, upload_id=view.id)
        assert view.status == "succeeded", (view.message, view.problems)
        assert session.exec(select(Timeseries.name).where(Timeseries.model_id == model_id)).all() == ["demand"]
    assert _keys(s3_store, view.id) == [], "the file leaves the store once its series are in the database"
    assert not list((tmp_path / "worker-machine").rglob("*.csv")), "the worker keeps no copy"


def test_discarding_an_upload_in_s3_removes_its_file(db_url, redis_url, owner, model_id, s3_store):  # noqa: F811
    path, size = _incoming(CSV.encode())
    with session_scope(db_url) as session:
        view = uploads.start_timeseries_upload(session=session, user_id=owner.id, model_id=model_id,
                                               filename="loads.csv", incoming=path, size_bytes=size)
    from jobs import uploads as upload_jobs

    assert upload_jobs.inspect_upload(view.id) == "inspected"
    assert _keys(s3_store, view.id) == ["original"]
    with session_scope(db_url) as session:
        assert uploads.discard_upload(session=session, user_id=owner.id, upload_id=view.id) == "loads.csv"
    assert _keys(s3_store, view.id) == []
    with session_scope(db_url) as session:
        assert session.get(Upload, view.id) is None


def test_a_store_that_does_not_answer_leaves_no_upload_behind(db_url, owner, model_id, monkeypatch):
    monkeypatch.setenv("ENGAGE_ARTIFACTS_URL", "s3://nowhere/engage")
    monkeypatch.setenv("ENGAGE_ARTIFACTS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    get_settings.cache_clear()
    path, size = _incoming(CSV.encode())
    with session_scope(db_url) as session, pytest.raises(storage.StoreUnreachable) as refused:
        uploads.start_timeseries_upload(session=session, user_id=owner.id, model_id=model_id,
                                        filename="loads.csv", incoming=path, size_bytes=size)
    assert "run files store is not reachable" in refused.value.message
    assert not path.exists()
    with session_scope(db_url) as session:
        assert session.exec(select(Upload)).all() == []
    get_settings.cache_clear()


def test_old_rows_with_an_absolute_path_are_still_read(db_url, tmp_path):
    old = tmp_path / "uploads" / "7" / "original"
    old.parent.mkdir(parents=True)
    old.write_text(CSV)
    assert uploads.local_file(str(old)) == old and uploads.has_file(str(old))
    assert not uploads.has_file(str(tmp_path / "gone.csv"))


def test_a_model_zip_in_s3_is_imported_by_a_worker_of_another_machine(
        db_url, redis_url, owner, s3_store, calliope_examples_dir, tmp_path):  # noqa: F811
    zipped = archives.zip_folder(folder=calliope_examples_dir / "national_scale", target=tmp_path / "n.zip",
                                 top="national_scale").read_bytes()
    path, size = _incoming(zipped)
    with session_scope(db_url) as session:
        view = uploads.start_model_archive_upload(session=session, user_id=owner.id, filename="national.zip",
                                                  incoming=path, size_bytes=size)
    assert _keys(s3_store, view.id) == ["original.zip"] and not path.exists()

    _worker_elsewhere(tmp_path)
    with session_scope(db_url) as session:
        view = uploads.archive_upload_view(session=session, user_id=owner.id, upload_id=view.id)
        assert view.status == "succeeded", view.message
        assert session.get(EnergyModel, view.model_id).owner_id == owner.id
    assert _keys(s3_store, view.id) == [], "the zip leaves the store once imported"
    worker_disk = tmp_path / "worker-machine"
    assert not list(worker_disk.rglob("*.zip")) and not list(worker_disk.rglob("model.yaml")), \
        "the worker keeps neither the zip nor the unpacked model"
