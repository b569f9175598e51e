"""`python -m jobs.worker [short] [long] [--burst]`: an RQ worker on the app's prefixed queues.

The heavy libraries are imported here, once, before rq forks a work horse per job: each horse
starts with calliope, pyomo, highspy, xarray and pandas already loaded (importing them costs
1.2-1.5 s per process), with calliope's built-in math already read and its parsing grammars
built (jobs/warm_cache.py), and with those objects frozen out of the garbage collector's reach.
The default forking `Worker` is used on purpose: a horse that dies (out of memory, killed)
cannot take the worker with it, and the worker then records the run as failed through
`tasks.on_work_horse_killed`.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time

LOGGER = logging.getLogger("jobs.worker")


def warm_imports() -> float:
    started = time.monotonic()
    import calliope  # noqa: F401
    import highspy  # noqa: F401
    import pandas  # noqa: F401
    import pyomo.environ  # noqa: F401
    import xarray  # noqa: F401

    import jobs.alerts  # noqa: F401
    import jobs.tasks  # noqa: F401
    from engage_reflex import models  # noqa: F401

    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # otherwise every work horse configures the ORM again on its first query
    try:  # the PostgreSQL driver, if the deployment uses it
        import psycopg  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    warm_calliope()
    return time.monotonic() - started


def warm_calliope() -> None:
    """Memoise what calliope redoes for every model (its math YAML, its parsing grammars) and
    fill those caches now, so each work horse inherits them (see jobs/warm_cache.py). A failure
    here only costs speed: the worker then runs calliope unpatched. ENGAGE_WARM_CACHE=0 turns
    them off (to compare, or to rule them out when chasing a calliope problem)."""
    from engage_reflex.settings import get_settings
    from jobs import warm_cache

    if not get_settings().warm_cache:
        LOGGER.info("calliope warm caches off (ENGAGE_WARM_CACHE)")
        return
    try:
        warm_cache.install(prewarm=True)
    except Exception:
        LOGGER.exception("could not install the calliope warm caches; running without them")
        warm_cache.uninstall()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engage-worker", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", metavar="QUEUE",
                        help="short and/or long, in priority order (default: short long)")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--name", default=None, help="worker name (default: random)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [q for q in args.queues if q not in ("short", "long")]
    if unknown:
        parser.error(f"unknown queue(s) {', '.join(unknown)}: use short and/or long")
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    seconds = warm_imports()

    from rq import Worker

    from engage_reflex.services import queue as jobqueue
    from jobs import tasks

    # The ~190k objects the imports created live as long as the worker. Frozen, they are out of
    # the collector's reach: a work horse's full collections no longer walk them (nor copy their
    # pages on write). Measured on national_scale: gc time per solve job 1.5 s -> 0.55 s.
    gc.collect()
    gc.freeze()
    names = jobqueue.queue_names(tuple(args.queues) or jobqueue.QUEUE_NAMES)
    LOGGER.info("imports took %.1f s; working on %s", seconds, ", ".join(names))
    worker = Worker(names, connection=jobqueue.redis_connection(), name=args.name,
                    work_horse_killed_handler=tasks.on_work_horse_killed)
    worker.work(burst=args.burst, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
