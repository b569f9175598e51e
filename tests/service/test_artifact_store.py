"""The run files store (services/storage.py) on a local folder and on S3 (moto's server over HTTP):
the same operations behave the same, and names leaving the store are refused in words."""

from __future__ import annotations

import pytest

from engage_reflex.services import storage
from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings
from tests.s3_store import bucket_keys, moto_endpoint, s3_store  # noqa: F401


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ENGAGE_ARTIFACTS_URL", raising=False)
    get_settings.cache_clear()
    if request.param == "s3":
        request.getfixturevalue("s3_store")
    yield storage.get_store()
    get_settings.cache_clear()


def _results_folder(tmp_path):
    folder = tmp_path / "work" / "results"
    (folder / "tables").mkdir(parents=True)
    (folder / "model.nc").write_bytes(b"\x89HDF" + bytes(range(256)) * 40)
    (folder / "tables" / "flows.csv").write_text("timestep,value\n2005-01-01 00:00,1.5\n")
    return folder


def test_upload_read_stream_copy_and_delete(store, tmp_path):
    folder = _results_folder(tmp_path)
    keys = store.upload(folder, "runs/7/results")
    assert keys == ["runs/7/results/model.nc", "runs/7/results/tables/flows.csv"]
    store.upload(tmp_path / "work" / "results" / "tables" / "flows.csv", "runs/7/run.log")

    assert store.exists("runs/7/results/model.nc") and not store.exists("runs/7/results/missing.nc")
    assert not store.exists("runs/7/results")  # a folder of keys is not a file
    assert store.size("runs/7/results/model.nc") == 4 + 256 * 40
    assert store.read_bytes("runs/7/results/tables/flows.csv").startswith(b"timestep,value\n")
    streamed = b"".join(store.iter_bytes("runs/7/results/model.nc", chunk_size=1000))
    assert streamed == (folder / "model.nc").read_bytes()
    with store.open("runs/7/results/model.nc") as fh:
        assert fh.read(4) == b"\x89HDF"
    with pytest.raises(FileNotFoundError):
        store.read_bytes("runs/7/results/missing.nc")

    fetched = store.fetch("runs/7/results/tables/flows.csv")
    assert fetched.read_text().endswith("1.5\n") and fetched.suffix == ".csv"
    assert store.fetch("runs/7/results/tables/flows.csv") == fetched  # cached (or in place)

    # runs/70 shares the text "runs/7" but is another folder: untouched by runs/7's copy and delete.
    store.write_bytes("runs/70/run.log", b"other run")
    copied = store.copy_prefix("runs/7", "runs/8")
    assert sorted(copied) == ["runs/8/results/model.nc", "runs/8/results/tables/flows.csv", "runs/8/run.log"]
    assert store.read_bytes("runs/8/results/model.nc") == (folder / "model.nc").read_bytes()

    assert store.delete_prefix("runs/7") == 3
    assert store.list_keys("runs/7") == [] and not store.exists("runs/7/run.log")
    assert store.list_keys("runs/8") == copied and store.read_bytes("runs/70/run.log") == b"other run"


def test_a_local_store_works_in_place(tmp_path, monkeypatch):
    """The default store is data_dir: a worker's run folder is already stored, nothing is copied."""
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ENGAGE_ARTIFACTS_URL", raising=False)
    get_settings.cache_clear()
    store = storage.get_store()
    run_folder = store.local_path("runs/3")
    assert run_folder == (tmp_path / "data" / "runs" / "3").resolve()
    (run_folder / "results").mkdir(parents=True)
    (run_folder / "results" / "model.nc").write_bytes(b"netcdf")
    before = (run_folder / "results" / "model.nc").stat().st_mtime_ns
    assert store.upload(run_folder / "results", "runs/3/results") == ["runs/3/results/model.nc"]
    assert (run_folder / "results" / "model.nc").stat().st_mtime_ns == before
    assert store.fetch("runs/3/results/model.nc") == run_folder / "results" / "model.nc"
    assert not (tmp_path / "data" / "cache").exists()
    # file:// URLs and plain paths name other folders.
    monkeypatch.setenv("ENGAGE_ARTIFACTS_URL", f"file://{tmp_path}/shared")
    get_settings.cache_clear()
    assert storage.get_store().local_path("runs/3") == tmp_path / "shared" / "runs" / "3"
    get_settings.cache_clear()


@pytest.mark.parametrize("key", ["../secrets", "runs/../../etc/passwd", "/etc/passwd", "runs/1/../../x", "",
                                 "C:/Windows"])
def test_keys_outside_the_store_are_refused_in_words(store, key):
    with pytest.raises(EngageError, match="points outside the run files store"):
        store.read_bytes(key)
    with pytest.raises(EngageError, match="points outside the run files store"):
        store.delete_prefix(key)


def test_a_store_that_does_not_answer_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ENGAGE_ARTIFACTS_URL", "s3://engage-nowhere/runs")
    monkeypatch.setenv("ENGAGE_ARTIFACTS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    get_settings.cache_clear()
    with pytest.raises(storage.StoreUnreachable, match="The run files store is not reachable"):
        storage.get_store().exists("runs/1/run.log")
    get_settings.cache_clear()


def test_an_s3_store_keeps_downloads_in_a_bounded_cache(s3_store, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    store = storage.get_store()
    monkeypatch.setattr(storage, "CACHE_MAX_BYTES", 2500)
    for index in range(3):
        store.write_bytes(f"runs/{index}/model.nc", bytes([index]) * 1000)
    paths = [store.fetch(f"runs/{index}/model.nc") for index in range(3)]
    assert paths[2].read_bytes() == bytes([2]) * 1000 and paths[2].parent == tmp_path / "data" / "cache" / "store"
    assert sum(p.stat().st_size for p in paths[2].parent.iterdir()) <= 2500 and not paths[0].exists()
    store.write_bytes("runs/2/model.nc", b"rewritten")  # a new ETag: a new download, not the stale copy
    assert store.fetch("runs/2/model.nc").read_bytes() == b"rewritten"
    assert set(bucket_keys(s3_store["endpoint"], s3_store["bucket"])) == {
        f"engage/runs/{index}/model.nc" for index in range(3)}
    get_settings.cache_clear()


def test_a_solve_elsewhere_waits_for_the_inputs_netcdf_the_build_stores_after_enqueueing(store, tmp_path):
    """The build job stores inputs.nc just after it enqueues the solve (jobs.tasks); a solve that
    starts on another machine at once finds it a moment later, and gives up after its wait."""
    import threading

    from jobs import tasks

    elsewhere = tmp_path / "other-machine" / "runs" / "41"  # the solve's own, empty work folder
    source = tmp_path / "built.nc"
    source.write_bytes(b"\x89HDF inputs of run 41")
    writer = threading.Timer(0.6, lambda: store.upload(source, "runs/41/inputs.nc"))
    writer.start()
    try:
        found = tasks._stored_inputs_netcdf(41, elsewhere, wait_s=20)
    finally:
        writer.join()
    assert found.read_bytes() == source.read_bytes()

    with pytest.raises(FileNotFoundError):
        tasks._stored_inputs_netcdf(42, elsewhere, wait_s=0.5)
