"""Timeseries upload speed and memory, against pandas reading the same file.

    .venv/bin/python bench/upload.py [-n 3] [--big-mb 100]

1. An 8760-row x 50-column CSV goes through what the upload jobs do (inspect the file, then
   clean all 50 columns and store them in a throw-away SQLite database), n times; the median job
   time is compared with `pandas.read_csv` of the same file (the floor: reading it at all).
2. A ~100 MB CSV (15-minute steps, 30 columns) goes through the same jobs in a fresh Python
   process; its peak RSS growth over the process's size before the job (the interpreter with
   pandas loaded) is divided by the file size.
3. Three ways to store the 50 series are measured side by side in SQLite: JSON lists (how
   series were kept until migration 0005), a values table (one row per value) and the
   compressed blob Engage stores now: bytes on disk, write and read time.

Needs Redis (the upload service queues its jobs; the bench runs the job functions itself and
removes its queue keys afterwards). The last line is exactly

    upload: 8760x50-s X, read_csv-ratio R, 100MB-peak-rss-x M

(targets: X <= 1 s, M <= 3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_csv(path: Path, rows: int, columns: int, step_minutes: int, seed: int = 1) -> None:
    """A timestamp column and `columns` value columns of random numbers, written in slices."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2020-01-01T00:00")
    with open(path, "w", encoding="utf-8") as out:
        out.write("time," + ",".join(f"series_{c:03d}" for c in range(columns)) + "\n")
        for first in range(0, rows, 20_000):
            count = min(20_000, rows - first)
            stamps = start + (np.arange(first, first + count) * step_minutes).astype("timedelta64[m]")
            values = rng.random((count, columns)) * 1000
            text = np.char.mod("%.3f", values)
            lines = [f"{str(s).replace('T', ' ')}," + ",".join(row) for s, row in zip(stamps, text, strict=True)]
            out.write("\n".join(lines) + "\n")


def _bytes_of_rows(tmp: Path, rows: int, columns: int, step_minutes: int) -> int:
    """How many bytes `rows` rows take in this layout (to size the big file)."""
    probe = tmp / "probe.csv"
    write_csv(probe, rows, columns, step_minutes)
    size = probe.stat().st_size
    probe.unlink()
    return size


def setup_database(tmp: Path) -> tuple[str, int, int]:
    from engage_reflex.db import session_scope
    from engage_reflex.migrations import upgrade
    from engage_reflex.models import EnergyModel, User

    url = f"sqlite:///{tmp / 'bench.db'}"
    os.environ["DATABASE_URL"] = url
    os.environ["ENGAGE_DATA_DIR"] = str(tmp / "data")
    upgrade(url)
    with session_scope(url) as session:
        user = User(email="bench-upload@example.org", password_hash="!")
        session.add(user)
        session.flush()
        model = EnergyModel(name="Upload bench", owner_id=user.id, time_zone="UTC")
        session.add(model)
        session.flush()
        return url, user.id, model.id


def run_jobs(url: str, user_id: int, model_id: int, csv: Path, label: str) -> float:
    """Store the file as an upload, then time the two job functions (as a worker runs them)."""
    import shutil

    from engage_reflex.db import session_scope
    from engage_reflex.services import uploads
    from jobs import uploads as upload_jobs

    incoming = uploads.incoming_path()
    shutil.copyfile(csv, incoming)
    with session_scope(url) as session:
        view = uploads.start_timeseries_upload(session=session, user_id=user_id, model_id=model_id,
                                               filename=csv.name, incoming=incoming, size_bytes=csv.stat().st_size)
    started = time.perf_counter()
    assert upload_jobs.inspect_upload(view.id) == "inspected", label
    inspected = time.perf_counter() - started
    with session_scope(url) as session:
        view = uploads.upload_view(session=session, user_id=user_id, upload_id=view.id)
        columns = [c.name for c in view.columns if c.name != view.timestamp_column]
        uploads.choose_series(session=session, user_id=user_id, upload_id=view.id, timestamp_column="time",
                              series=[(c, f"{label} {c}") for c in columns])
    started = time.perf_counter()
    outcome = upload_jobs.clean_upload(view.id)
    cleaned = time.perf_counter() - started
    assert outcome == "stored", outcome
    return inspected + cleaned


def big_child(csv: str) -> None:
    """In a fresh process: the jobs on the big file; prints JSON with RSS before and the peak."""
    import resource

    import pandas  # noqa: F401  (loaded before "before", as in a worker)

    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-upload-big-"))
    url, user_id, model_id = setup_database(tmp)
    from jobs import uploads as _jobs  # noqa: F401

    try:
        with open("/proc/self/statm") as statm:
            before = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        seconds = run_jobs(url, user_id, model_id, Path(csv), "big")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"before": before, "peak": peak, "seconds": seconds}))


def storage_comparison(tmp: Path, rows: int = 8760, columns: int = 50) -> list[tuple[str, int, float, float]]:
    """(way, bytes, write s, read s) for 50 hourly series in one SQLite file each."""
    import sqlalchemy as sa

    from engage_reflex.models.series_blob import pack_series, unpack_series

    rng = np.random.default_rng(2)
    stamps = np.datetime64("2020-01-01T00:00", "s") + np.arange(rows) * np.timedelta64(3600, "s")
    values = rng.random((columns, rows)) * 1000
    iso = [str(s) for s in stamps.astype("datetime64[s]")]
    results = []
    for way in ("json lists", "values table", "blob"):
        path = tmp / f"storage-{way.replace(' ', '-')}.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        meta = sa.MetaData()
        if way == "values table":
            table = sa.Table("v", meta, sa.Column("series_id", sa.Integer), sa.Column("t", sa.DateTime),
                             sa.Column("value", sa.Float), sa.PrimaryKeyConstraint("series_id", "t"))
        else:
            table = sa.Table("s", meta, sa.Column("id", sa.Integer, primary_key=True),
                             sa.Column("data", sa.JSON if way == "json lists" else sa.LargeBinary))
        meta.create_all(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            if way == "json lists":
                conn.execute(table.insert(), [{"id": c, "data": {"t": iso, "v": values[c].tolist()}}
                                              for c in range(columns)])
            elif way == "values table":
                times = stamps.astype("datetime64[us]").tolist()
                conn.execute(table.insert(), [{"series_id": c, "t": t, "value": float(v)}
                                              for c in range(columns) for t, v in zip(times, values[c], strict=True)])
            else:
                conn.execute(table.insert(), [{"id": c, "data": pack_series(stamps, values[c])}
                                              for c in range(columns)])
        written = time.perf_counter() - started
        started = time.perf_counter()
        with engine.connect() as conn:
            if way == "json lists":
                for (data,) in conn.execute(sa.select(table.c.data)):
                    np.asarray(data["v"], dtype=float), np.asarray(data["t"], dtype="datetime64[s]")
            elif way == "values table":
                for c in range(columns):
                    got = conn.execute(sa.select(table.c.t, table.c.value).where(table.c.series_id == c)).all()
                    np.asarray([v for _, v in got], dtype=float)
            else:
                for (data,) in conn.execute(sa.select(table.c.data)):
                    unpack_series(data)
        read = time.perf_counter() - started
        engine.dispose()
        results.append((way, path.stat().st_size, written, read))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=100, help="size of the big file (MB)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("ENGAGE_ENV", "test")
    prefix = f"bench-upload-{uuid.uuid4().hex[:6]}-"
    os.environ["ENGAGE_QUEUE_PREFIX"] = prefix
    if args.child:
        big_child(args.child)
        return 0

    import pandas as pd

    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-upload-"))
    try:
        url, user_id, model_id = setup_database(tmp)
        small = tmp / "year_8760x50.csv"
        write_csv(small, 8760, 50, 60)
        job_times, read_times = [], []
        for i in range(args.n):
            job_times.append(run_jobs(url, user_id, model_id, small, f"run{i}"))
            started = time.perf_counter()
            pd.read_csv(small)
            read_times.append(time.perf_counter() - started)
        job_s, read_s = statistics.median(job_times), statistics.median(read_times)
        print(f"8760 x 50 CSV ({small.stat().st_size / 2**20:.1f} MB), median of {args.n}:")
        print(f"  upload jobs (inspect + clean + store)  {job_s:6.3f} s  (target <= 1 s)")
        print(f"  pandas.read_csv                        {read_s:6.3f} s")
        print(f"  ratio                                  {job_s / read_s:6.2f}")

        print("Storing these 50 series (SQLite):")
        for way, size, written, read in storage_comparison(tmp):
            print(f"  {way:<13} {size / 2**20:7.2f} MB on disk, write {written:6.3f} s, read {read:6.3f} s")

        rows_big = int(args.big_mb * 2**20 * 20_000 / _bytes_of_rows(tmp, 20_000, 30, 15))
        big = tmp / "big.csv"
        write_csv(big, rows_big, 30, 15)
        size = big.stat().st_size
        child = subprocess.run([sys.executable, __file__, "--child", str(big)], capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        if child.returncode != 0:
            print(child.stdout, child.stderr, file=sys.stderr)
            return 1
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        growth = (measured["peak"] - measured["before"]) / size
        print(f"{size / 2**20:.0f} MB CSV ({rows_big:,} rows x 30 columns, 15-minute steps), fresh process:")
        print(f"  upload jobs {measured['seconds']:.1f} s; RSS before {measured['before'] / 2**20:.0f} MB, "
              f"peak {measured['peak'] / 2**20:.0f} MB; growth {growth:.2f}x the file (target <= 3)")
        print(f"upload: 8760x50-s {job_s:.3f}, read_csv-ratio {job_s / read_s:.2f}, 100MB-peak-rss-x {growth:.2f}")
        return 0
    finally:
        _forget_queue(prefix)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _forget_queue(prefix: str) -> None:
    try:
        from engage_reflex.services.queue import redis_connection

        conn = redis_connection()
        keys = list(conn.scan_iter(match=f"*{prefix}*"))
        if keys:
            conn.delete(*keys)
        conn.srem("rq:queues", *[f"rq:queue:{prefix}{name}" for name in ("short", "long")])
    except Exception:  # the bench's numbers stand without the cleanup
        pass


if __name__ == "__main__":
    raise SystemExit(main())
