"""How fast the model editor's pages render for a big model, against the same pages of an empty one.

    .venv/bin/python bench/builder_pages.py [-n 3]

Generates two models straight into a throw-away database: an empty one and a big one of
200 locations x 30 technologies (~2,000 nodes, links between neighbours, a few parameters per
technology). Starts the app as `make run` does (`engage serve`, no dashboard), logs in in
headless Chromium and opens every editor page of both models n times, each a full page load.
The time of one load runs from the navigation until the page shows its content: the model's
heading is there and no "Loading…" placeholder is left. Prints the median per page and model,
the ratio big/empty, and as the last line exactly:

    builder pages: worst-s X, worst-ratio Y

(target: X <= 1.5 s and Y <= 5).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_S, TARGET_RATIO = 1.5, 5.0
EMAIL, PASSWORD = "bench@example.org", "a long bench password 42"
BASES = ["supply"] * 10 + ["demand"] * 4 + ["storage"] * 5 + ["conversion"] * 5 + ["transmission"] * 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _configure(tmp: Path, port: int) -> dict[str, str]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "ENGAGE_DATA_DIR": str(tmp / "data"),
        "ENGAGE_QUEUE_PREFIX": f"bench-pages-{uuid.uuid4().hex[:8]}-",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "ENGAGE_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "ENGAGE_PORT": str(port),
        "REFLEX_WEB_WORKDIR": str(tmp / "web"),
        "REFLEX_USE_SYSTEM_BUN": "true",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "NPM_CONFIG_REGISTRY": "https://registry.npmjs.org",
        "REFLEX_DIR": str(ROOT / ".reflex_home"),
        "PATH": os.pathsep.join([str(ROOT / "tools" / "bun" / "node_modules" / ".bin"),
                                 str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    return dict(os.environ)


def _generate() -> tuple[int, int, int, int]:
    """(empty model id, big model id, a tech id of the big model, a node id of the big model)."""
    from sqlalchemy import insert, select
    from sqlmodel import Session

    from engage_reflex.db import get_engine, session_scope
    from engage_reflex.migrations import upgrade
    from engage_reflex.models import (
        Carrier, EnergyModel, Link, Location, Node, Scenario, TechParameter, Technology, TechnologyCarrier,
    )
    from engage_reflex.services import users

    upgrade()
    with session_scope() as session:
        user = users.register(session=session, email=EMAIL, password=PASSWORD, display_name="Bench")
    rng = random.Random(42)
    with Session(get_engine()) as s:
        empty = EnergyModel(name="Empty model", owner_id=user.id)
        big = EnergyModel(name="Big model (200 locations x 30 techs)", owner_id=user.id)
        s.add_all([empty, big])
        s.flush()
        s.add_all([Scenario(model_id=empty.id, name="base"), Scenario(model_id=big.id, name="base")])
        power = Carrier(model_id=big.id, name="power", rate_unit="kW", quantity_unit="kWh", color="#e6a23c")
        gas = Carrier(model_id=big.id, name="gas", rate_unit="kW", quantity_unit="kWh", color="#909399")
        s.add_all([power, gas])
        s.flush()
        techs = []
        for i, base in enumerate(BASES):
            tech = Technology(model_id=big.id, name=f"{base}_{i:02d}", display_name=f"{base.title()} {i}",
                              base_tech=base, color=f"#{rng.randrange(0x1000000):06x}")
            s.add(tech)
            techs.append(tech)
        s.flush()
        carrier_rows, param_rows = [], []
        for tech in techs:
            base = str(getattr(tech.base_tech, "value", tech.base_tech))
            ins = {"supply": [], "demand": [power], "storage": [power], "conversion": [gas],
                   "transmission": [power]}[base]
            outs = {"supply": [power], "demand": [], "storage": [power], "conversion": [power],
                    "transmission": [power]}[base]
            carrier_rows += [{"technology_id": tech.id, "carrier_id": c.id, "role": "in", "position": 0} for c in ins]
            carrier_rows += [{"technology_id": tech.id, "carrier_id": c.id, "role": "out", "position": 0} for c in outs]
            for name, value in [("flow_cap_max", 1000.0 * rng.randint(1, 50)), ("lifetime", 25.0)]:
                param_rows.append({"technology_id": tech.id, "name": name, "value": value, "dims": [],
                                   "index": [], "index_key": ""})
            param_rows.append({"technology_id": tech.id, "name": "cost_flow_cap", "value": 100.0 * rng.randint(1, 9),
                               "dims": ["costs"], "index": ["monetary"], "index_key": "monetary"})
        s.execute(insert(TechnologyCarrier), carrier_rows)
        s.execute(insert(TechParameter), param_rows)
        s.execute(insert(Location), [
            {"model_id": big.id, "name": f"loc_{i:03d}", "description": "", "latitude": 40 + (i // 20) * 0.5,
             "longitude": -5 + (i % 20) * 0.5, "available_area": None, "extra": {}} for i in range(200)])
        location_ids = [row[0] for row in s.execute(
            select(Location.id).where(Location.model_id == big.id).order_by(Location.id)).all()]
        placeable = [t for t in techs if str(getattr(t.base_tech, "value", t.base_tech)) != "transmission"]
        cells = [(loc, tech.id) for loc in location_ids for tech in placeable]
        chosen = rng.sample(cells, 2000)
        s.execute(insert(Node), [{"model_id": big.id, "location_id": loc, "technology_id": tech}
                                 for loc, tech in sorted(chosen)])
        transmission = [t for t in techs if str(getattr(t.base_tech, "value", t.base_tech)) == "transmission"]
        s.execute(insert(Link), [
            {"model_id": big.id, "name": f"link_{i:03d}", "technology_id": transmission[i % len(transmission)].id,
             "from_location_id": location_ids[i], "to_location_id": location_ids[i + 1]} for i in range(199)])
        node_id = s.execute(select(Node.id).where(Node.model_id == big.id).order_by(Node.id)).first()[0]
        s.commit()
        return empty.id, big.id, placeable[0].id, node_id


def _start_app(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    engage = Path(sys.executable).parent / "engage"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(engage), "serve", "--no-dashboard"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    ready = threading.Event()

    def pump() -> None:
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if "Engage is ready at" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 600
    while not ready.is_set():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"engage serve did not start; see {log_path}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=40)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _pages(model_id: int, tech_id: int | None, node_id: int | None) -> list[tuple[str, str]]:
    from engage_reflex.components.editor import AREAS

    pages = [(label, f"/models/{model_id}{suffix}") for _, label, suffix, _ in AREAS]
    if tech_id is not None:
        pages.append(("One technology", f"/models/{model_id}/techs/{tech_id}"))
    if node_id is not None:
        pages.append(("One node", f"/models/{model_id}/nodes/{node_id}"))
    return pages


def _load_time(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(
        "() => document.querySelector('#model-name') && !document.querySelector('.page-loading')"
        " || document.querySelector('#model-error')", timeout=60_000, polling=20)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3, help="page loads per page and model (median reported)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-pages-"))
    port = _free_port()
    env = _configure(tmp, port)
    empty_id, big_id, tech_id, node_id = _generate()
    print(f"Generated: empty model #{empty_id}, big model #{big_id} (200 locations, 30 techs, 2000 nodes, "
          "199 links)", flush=True)
    proc = _start_app(env, tmp / "serve.log")
    base = f"http://localhost:{port}"
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                         headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/login")
            page.wait_for_function("() => window.sessionStorage.getItem('token') !== null")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url(re.compile(r"/models/?$"))
            empty_tech = empty_node = None  # an empty model has neither: those pages compare to the first area
            rows = []
            for (label, big_url), (_, empty_url) in zip(
                    _pages(big_id, tech_id, node_id), _pages(empty_id, empty_tech, empty_node) + [("", "")] * 2,
                    strict=False):
                empty_url = empty_url or f"/models/{empty_id}"
                _load_time(page, base + big_url)  # one warm-up load (JS chunks into the cache)
                big_s = statistics.median(_load_time(page, base + big_url) for _ in range(args.n))
                _load_time(page, base + empty_url)
                empty_s = statistics.median(_load_time(page, base + empty_url) for _ in range(args.n))
                rows.append((label, empty_s, big_s, big_s / empty_s))
                print(f"  {label:<16} empty {empty_s:6.2f} s   big {big_s:6.2f} s   ratio {big_s / empty_s:5.2f}",
                      flush=True)
            browser.close()
    finally:
        _stop(proc)
    worst_s = max(r[2] for r in rows)
    worst_ratio = max(r[3] for r in rows)
    ok = "OK" if worst_s <= TARGET_S and worst_ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"  targets: worst <= {TARGET_S} s, ratio <= {TARGET_RATIO}: {ok}")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"builder pages: worst-s {worst_s:.2f}, worst-ratio {worst_ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
