"""How fast the results page opens for a full-year hourly run, against the 5-day default run.

    .venv/bin/python bench/results_page.py [--solve-only]

Both runs solve Calliope's national-scale example (the app's public sample): the default
5 days with HiGHS, and the whole of 2005 hourly with CBC. The full-year solve (~5 min, ~1 GB)
is done once and its model.nc cached under bench/out/results-page-cache/ (git-ignored); the
result tables are written from it with the current jobs.result_tables on every start, so the
bench always measures what the worker writes today.

Then the app is started as `make run` does (`engage serve`, no dashboard), a planner logs in
in headless Chromium and opens each run's results page in a new tab (a fresh page state; the
login and the browser cache are shared): one warm-up load, then the median of -n loads.
Measured per load: the bytes sent to the browser after the navigation (HTTP response bodies as
sent and websocket frames received, until every figure is drawn) and the time from the
navigation until the first plotly figure has drawn a trace. BENCH_DETAIL=1 also prints each
load's websocket frames (time, size). Prints both runs and the ratios; the last line is exactly

    results page: full-year-MB X, first-plot-s Y

(targets: X <= 2 and Y <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.builder_pages import _configure, _free_port, _start_app, _stop  # noqa: E402 (after sys.path)

CACHE = ROOT / "bench" / "out" / "results-page-cache"
TARGET_MB, TARGET_S = 2.0, 1.5
EMAIL, PASSWORD = "bench-results@example.org", "a long bench password 42"
SPANS = {"5-day": ("2005-01-01", "2005-01-05", "highs"), "full-year": ("2005-01-01", "2005-12-31", "cbc")}


class _ExampleDefinition:
    """The calliope example folder as jobs.calliope_runner reads an exported model."""

    def __init__(self, definition: dict):
        self.definition, self.dataframes, self.files = definition, {}, {}


def solved_netcdf(label: str) -> Path:
    """model.nc of national_scale solved over SPANS[label]; solved once, then read from the cache."""
    first, last, solver = SPANS[label]
    target = CACHE / label / "model.nc"
    if target.is_file():
        return target
    import calliope

    from jobs import calliope_runner

    work = CACHE / f"{label}.work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(Path(calliope.__file__).parent / "example_models" / "national_scale", work / "model")
    definition = calliope.io.read_rich_yaml(work / "model" / "model.yaml").as_dict()
    definition["config"]["init"]["subset"] = {"timesteps": [first, last]}
    started = time.monotonic()
    print(f"Solving national_scale {first} to {last} with {solver} (once; cached in {CACHE})...", flush=True)
    outcome = calliope_runner.run(_ExampleDefinition(definition), work, solver=solver)
    if not outcome.ok:
        raise SystemExit(f"the {label} solve failed: {outcome.message}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(outcome.results_dir / "model.nc", target)
    (target.parent / "objective.txt").write_text(repr(outcome.objective))
    shutil.rmtree(work, ignore_errors=True)
    print(f"  solved in {time.monotonic() - started:.0f} s", flush=True)
    return target




def _seed(netcdfs: dict[str, Path]) -> dict[str, int]:
    """A planner, the national-scale sample and one succeeded run per label whose results folder is
    what the worker writes today (jobs.calliope_runner.write_results from the cached model.nc)."""
    import warnings

    import calliope
    from sqlmodel import select

    from engage_reflex.db import session_scope
    from engage_reflex.migrations import upgrade
    from engage_reflex.models import EnergyModel, Run, RunStatus, Scenario
    from engage_reflex.services import samples, users
    from engage_reflex.settings import get_settings
    from jobs import calliope_runner

    upgrade()
    with session_scope() as session:
        samples.seed_samples(session=session)
        user = users.register(session=session, email=EMAIL, password=PASSWORD, display_name="Bench")
    run_ids = {}
    for label, netcdf in netcdfs.items():
        first, last, solver = SPANS[label]
        with session_scope() as session:
            model = session.exec(select(EnergyModel).where(EnergyModel.name.contains("National"))).first()
            scenario = session.exec(select(Scenario).where(Scenario.model_id == model.id)
                                    .order_by(Scenario.id)).first()
            run = Run(model_id=model.id, scenario_id=scenario.id, user_id=user.id, status=RunStatus.queued,
                      subset_start=first, subset_end=last, solver=solver)
            session.add(run)
            session.flush()
            run_id = run.id
        target = get_settings().runs_dir / str(run_id) / "results"
        started = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calliope_runner.write_results(calliope.read_netcdf(netcdf), target)
        print(f"  {label}: results written in {time.monotonic() - started:.1f} s "
              f"({sum(f.stat().st_size for f in target.iterdir()) / 1e6:.1f} MB on disk)", flush=True)
        with session_scope() as session:
            run = session.get(Run, run_id)
            run.status, run.termination = RunStatus.succeeded, "optimal"
            run.objective = float((netcdf.parent / "objective.txt").read_text()) \
                if (netcdf.parent / "objective.txt").is_file() else None
            run.artefact_dir = str(target.resolve().relative_to(get_settings().data_dir.resolve()))
            run.artefacts = dict(calliope_runner.ARTEFACT_FILES)
            session.add(run)
        run_ids[label] = run_id
    return run_ids


# A figure has drawn when plotly put a trace into one of its layers.
_FIRST_PLOT = ("() => document.querySelector('.js-plotly-plot .barlayer .trace, "
               ".js-plotly-plot .scatterlayer .trace, .js-plotly-plot .pielayer .trace') !== null")
_ALL_PLOTS = ("() => ['dispatch-plot', 'storage-plot', 'results-map', 'capacity-plot'].every(id => {"
              " const el = document.getElementById(id); return el && el.querySelector('.main-svg'); })")


class _Bytes:
    """Bytes one tab received (HTTP bodies as sent, websocket frames) and when the frames came."""

    def __init__(self, page):
        self.http = self.ws = 0
        self.frames: list[tuple[float, int]] = []
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", lambda e: self._add_http(e.get("encodedDataLength", 0)))
        cdp.on("Network.webSocketFrameReceived",
               lambda e: self._add_ws(len(e["response"].get("payloadData", "").encode())))
        self._cdp = cdp

    def _add_http(self, n: float) -> None:
        self.http += int(n)

    def _add_ws(self, n: int) -> None:
        self.ws += n
        self.frames.append((time.perf_counter(), n))


def _load(context, url: str) -> tuple[float, int, int]:
    """(seconds to the first drawn plot, HTTP bytes, websocket bytes) of opening `url` in a new tab:
    a fresh page state, as a planner opening a run; the login and the browser cache are shared."""
    page = context.new_page()
    counter = _Bytes(page)
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(_FIRST_PLOT, timeout=120_000, polling=10)
    first_plot = time.perf_counter() - started
    page.wait_for_function(_ALL_PLOTS, timeout=120_000, polling=50)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)  # the last figures' frames (dispatch, storage) after the first ones
    if os.environ.get("BENCH_DETAIL"):
        print(f"    first plot {first_plot:.2f} s; frames "
              + ", ".join(f"{t - started:.2f}s:{n // 1000}k" for t, n in counter.frames), flush=True)
    page.close()
    return first_plot, counter.http, counter.ws


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3, help="measured page loads per run (median reported)")
    parser.add_argument("--solve-only", action="store_true", help="only solve and cache the two runs")
    args = parser.parse_args()
    netcdfs = {label: solved_netcdf(label) for label in SPANS}
    if args.solve_only:
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-results-"))
    port = _free_port()
    env = _configure(tmp, port)
    print("Writing the result tables of both runs:", flush=True)
    run_ids = _seed(netcdfs)
    proc = _start_app(env, tmp / "serve.log")
    base = f"http://localhost:{port}"
    measured = {}
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                         headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(base + "/login")
            page.wait_for_function("() => window.sessionStorage.getItem('token') !== null")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url(re.compile(r"/models/?$"))
            for label, run_id in run_ids.items():
                url = f"{base}/runs/{run_id}"
                cold = _load(page.context, url)  # warm-up: the server reads the tables, the browser caches JS
                loads = [_load(page.context, url) for _ in range(args.n)]
                first_s = statistics.median(x[0] for x in loads)
                http = statistics.median(x[1] for x in loads)
                ws = statistics.median(x[2] for x in loads)
                measured[label] = (first_s, (http + ws) / 1e6, http / 1e6, ws / 1e6)
                print(f"  {label:<9} run #{run_id}: first plot {first_s:5.2f} s (first load {cold[0]:.2f} s), "
                      f"received {(http + ws) / 1e6:6.3f} MB = HTTP {http / 1e6:.3f} + websocket {ws / 1e6:.3f} "
                      f"(first load {(cold[1] + cold[2]) / 1e6:.3f} MB)", flush=True)
            browser.close()
    finally:
        _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    (base_s, base_mb, _, base_ws), (year_s, year_mb, _, year_ws) = measured["5-day"], measured["full-year"]
    print(f"  ratios full-year / 5-day: first plot {year_s / base_s:.2f}, bytes {year_mb / base_mb:.2f}, "
          f"websocket bytes {year_ws / base_ws:.2f}")
    ok = "OK" if year_mb <= TARGET_MB and year_s <= TARGET_S else "OVER TARGET"
    print(f"  targets: full year <= {TARGET_MB} MB and <= {TARGET_S} s to the first plot: {ok}")
    print(f"results page: full-year-MB {year_mb:.2f}, first-plot-s {year_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
