"""What the app adds to a Calliope run: bare `calliope run` vs start_run -> warm workers -> results stored.

    .venv/bin/python bench/run_overhead.py [-n 3] [--py-spy worker-profile.svg] [--no-warm-cache]

Both sides solve national_scale over its own default period with HiGHS, from the same
exported directory / database scenario, alternating so machine noise hits both alike:

(a) bare: `calliope run <exported>/model.yaml --save_netcdf out.nc` in a fresh process;
(b) app:  runs.start_run(...) on warm workers as `engage serve` starts them (`python -m
    jobs.worker short` and `... long`, started once, before timing), then poll the Run row until
    it is succeeded; timed from just before start_run (validate, record, enqueue) until the row
    says succeeded (results stored).

Prints the medians, the ratio app/bare (target <= 0.75) and the median of each step the run
recorded. The app's runs ask to "solve again" (no result reuse); then n more runs of the same inputs
are answered from them, and `reuse ratio Z` (reused / fresh app run, target <= 0.05) is printed
just before the last line. Uses a temporary SQLite database, data dir and queue prefix; removes them after.
`--no-warm-cache` starts the workers with ENGAGE_WARM_CACHE=0 (calliope unpatched, see
jobs/warm_cache.py), to measure what those caches save on the same machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET = 0.75
REUSE_TARGET = 0.05


def _configure(tmp: Path) -> str:
    """Point the app's settings at throw-away storage (before anything reads them)."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.db'}"
    os.environ["ENGAGE_DATA_DIR"] = str(tmp / "data")
    os.environ["ENGAGE_QUEUE_PREFIX"] = prefix
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    # The worker refuses to start without a safe secret: a throw-away one for this benchmark.
    os.environ.setdefault("ENGAGE_SECRET_KEY", uuid.uuid4().hex + uuid.uuid4().hex)
    return prefix


def _seed() -> tuple[int, int]:
    from sqlmodel import select

    from engage_reflex.db import session_scope
    from engage_reflex.migrations import upgrade
    from engage_reflex.models import EnergyModel, Scenario
    from engage_reflex.services import samples

    upgrade()
    with session_scope() as session:
        samples.seed_samples(session=session)
    with session_scope() as session:
        model = session.exec(select(EnergyModel).where(EnergyModel.name.contains("National"))).first()
        scenario = session.exec(select(Scenario).where(Scenario.model_id == model.id).order_by(Scenario.id)).first()
        return model.owner_id, scenario.id


def _export(scenario_id: int, directory: Path) -> Path:
    from engage_reflex.db import session_scope
    from engage_reflex.services import calliope_io

    with session_scope() as session:
        return calliope_io.export_scenario(session=session, scenario_id=scenario_id, solver="highs") \
            .write_directory(directory)


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _bare(model_yaml: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `calliope run` process."""
    calliope = Path(sys.executable).with_name("calliope")
    started, cpu = time.perf_counter(), _cpu_children()
    subprocess.run([str(calliope), "run", str(model_yaml), "--quiet", "--save_netcdf", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _cpu_children() - cpu


def _start_worker(queue_name: str, log: Path, py_spy: str | None, warm_cache: bool = True) -> subprocess.Popen:
    """One worker of one queue, as `engage serve` starts them (the build's last step, storing the
    inputs NetCDF for other machines, then overlaps the solve on the long worker)."""
    cmd = [sys.executable, "-m", "jobs.worker", queue_name]
    if py_spy:
        svg = Path(py_spy)
        cmd = [str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses", "--rate", "200",
               "-o", str(svg.with_name(f"{svg.stem}-{queue_name}{svg.suffix}")), "--", *cmd]
    env = dict(os.environ, PYTHONPATH=str(ROOT), ENGAGE_WARM_CACHE="1" if warm_cache else "0")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    from rq import Worker

    from engage_reflex.services import queue as jobqueue

    deadline = time.monotonic() + 60
    while not Worker.all(queue=jobqueue.queue(queue_name)):  # registered = imports done, waiting
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return proc


def _app(user_id: int, scenario_id: int, solve_again: bool = True) -> tuple[float, dict]:
    """One run from start_run until its row says succeeded. `solve_again`: solve even though an earlier
    run had the same inputs (the fresh runs); without it, the run is answered from that run (reuse)."""
    from engage_reflex.db import session_scope
    from engage_reflex.models import Run
    from engage_reflex.services import runs

    started = time.perf_counter()
    with session_scope() as session:
        run_id = runs.start_run(session=session, user_id=user_id, scenario_id=scenario_id, solver="highs",
                                subset_start="", subset_end="", resample="", solve_again=solve_again).id
    while True:
        with session_scope() as session:
            run = session.get(Run, run_id)
            status, timings, message = str(getattr(run.status, "value", run.status)), run.timings, run.message
        if status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if status != "succeeded":
        raise SystemExit(f"run {run_id} {status}: {message}")
    return elapsed, dict(timings or {})


def _cleanup_redis(prefix: str) -> None:
    from engage_reflex.services import queue as jobqueue

    # Queues, registries, jobs and results of this benchmark all carry its prefix.
    conn = jobqueue.redis_connection()
    for key in conn.scan_iter(match=f"*{prefix}*"):
        conn.delete(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument("--py-spy", default=None, metavar="SVG", help="profile the workers and their horses (one SVG per queue)")
    parser.add_argument("--no-warm-cache", action="store_true",
                        help="workers without the calliope warm caches (ENGAGE_WARM_CACHE=0)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    prefix = _configure(tmp)
    workers: list[subprocess.Popen] = []
    try:
        user_id, scenario_id = _seed()
        model_yaml = _export(scenario_id, tmp / "exported")
        for queue_name in ("short", "long"):
            log = tmp / f"worker-{queue_name}.log"
            workers.append(_start_worker(queue_name, log, args.py_spy, warm_cache=not args.no_warm_cache))
            for line in log.read_text().splitlines():
                if "warm cache" in line:
                    print(f"{queue_name} worker:", line.split(": ", 1)[-1], flush=True)
        bare, bare_cpu, app, breakdown = [], [], [], []
        for i in range(args.n):
            wall, cpu = _bare(model_yaml, tmp / f"bare{i}.nc")
            bare.append(wall)
            bare_cpu.append(cpu)
            elapsed, timings = _app(user_id, scenario_id)
            app.append(elapsed)
            breakdown.append(timings)
            steps = " ".join(f"{k.removesuffix('_s')}={v:.2f}" for k, v in timings.items())
            print(f"run {i + 1}: bare {bare[-1]:.2f} s, app {app[-1]:.2f} s ({steps})", flush=True)

        b, a = statistics.median(bare), statistics.median(app)
        print(f"\nnational_scale (default period), HiGHS, n={args.n}")
        print(f"  bare `calliope run`  median {b:.2f} s  (all: {', '.join(f'{x:.2f}' for x in bare)})")
        print(f"  app start->stored    median {a:.2f} s  (all: {', '.join(f'{x:.2f}' for x in app)})")
        verdict = "OK" if a / b <= TARGET else "ABOVE TARGET"
        print(f"  ratio app/bare       {a / b:.2f}  (target <= {TARGET})  {verdict}")
        # CPU seconds are steadier than wall time when other work shares the cores.
        app_cpu = [t.get("build_job_cpu_s", 0) + t.get("solve_job_cpu_s", 0) for t in breakdown]
        bc, ac = statistics.median(bare_cpu), statistics.median(app_cpu)
        print(f"  CPU: bare {bc:.2f} s, app jobs {ac:.2f} s, ratio {ac / bc:.2f} (the worker's own "
              "dequeue/fork and the web side not counted)")
        print("  app breakdown (median s, as recorded on the run):")
        for key in ("export_s", "write_definition_s", "read_s", "build_job_s", "build_job_cpu_s", "load_s",
                    "build_s", "solve_s", "write_s", "solve_job_s", "solve_job_cpu_s", "total_s"):
            values = [t[key] for t in breakdown if key in t]
            if values:
                print(f"    {key:<20}{statistics.median(values):7.2f}")
        jobs_s = [t.get("build_job_s", 0) + t.get("solve_job_s", 0) for t in breakdown]
        other = statistics.median([x - j for x, j in zip(app, jobs_s, strict=True)])
        # The same inputs once more, without "solve again": answered from the runs above.
        reused = []
        for _ in range(args.n):
            elapsed, timings = _app(user_id, scenario_id, solve_again=False)
            if "reused_from" not in timings:
                raise SystemExit("the run with unchanged inputs was solved again instead of reused")
            reused.append(elapsed)
        r = statistics.median(reused)
        print(f"  reused run start->stored median {r:.2f} s (all: {', '.join(f'{x:.2f}' for x in reused)}); "
              f"target <= {REUSE_TARGET} of a fresh app run")
        print(f"reuse ratio {r / a:.3f}")
        print(f"    {'queue/fork/poll':<20}{other:7.2f}  (start->stored minus both jobs)")
        return 0
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)  # warm shutdown; py-spy then writes its profile
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        try:
            _cleanup_redis(prefix)
        except Exception as exc:  # pragma: no cover - best effort
            print(f"(could not clean Redis: {exc})")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
