"""How long copying a sample model takes, against importing the same sample.

    .venv/bin/python bench/copy_model.py [-n 3] [--database-url URL]

Imports both Calliope samples into a throw-away SQLite database (or the given empty,
migrated-on-the-fly database), then copies each n times (one transaction each, as the
"Make a copy" button does). Prints the median copy time, the import time and their ratio
per sample; the last line is exactly

    copy model: national-s X, ratio Y

(target: X < 2 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    os.environ.setdefault("ENGAGE_ENV", "test")

    from sqlmodel import select

    from engage_reflex.db import session_scope
    from engage_reflex.migrations import upgrade
    from engage_reflex.models import User
    from engage_reflex.services import calliope_io, samples
    from engage_reflex.services import models as models_service

    tmp = tempfile.TemporaryDirectory(prefix="engage-bench-copy-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    with session_scope(url) as session:
        owner = samples.ensure_samples_user(session=session)
        planner = session.exec(select(User.id).where(User.email == "bench-copy@example.org")).first()
        if planner is None:
            user = User(email="bench-copy@example.org", password_hash="!")
            session.add(user)
            session.flush()
            planner = user.id
    results = {}
    for directory in samples.sample_directories():
        name = f"{samples.sample_name(directory)} (bench {time.time_ns()})"
        started = time.perf_counter()
        with session_scope(url) as session:
            report = calliope_io.import_model_directory(session=session, path=directory, owner_id=owner, name=name,
                                                          is_public=True)
        imported = time.perf_counter() - started
        times = []
        for _ in range(args.n):
            started = time.perf_counter()
            with session_scope(url) as session:
                models_service.copy_model(session=session, user_id=planner, source_model_id=report.model_id)
            times.append(time.perf_counter() - started)
        copy_s = statistics.median(times)
        results[directory.name] = (copy_s, imported)
        print(f"{directory.name}: copy {copy_s:.3f} s (median of {args.n}), import {imported:.3f} s, "
              f"ratio {copy_s / imported:.3f}")
    copy_s, imported = results["national_scale"]
    print(f"copy model: national-s {copy_s:.3f}, ratio {copy_s / imported:.3f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
