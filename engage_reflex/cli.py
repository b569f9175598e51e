"""`engage`: the administrators' command line.

    engage migrate                         apply database migrations
    engage import DIR [--owner EMAIL] [--public] [--name NAME]
    engage export MODEL SCENARIO DIR [--solver highs|cbc|glpk]
    engage check MODEL SCENARIO [--start DATE --end DATE] [--strict]   pre-run model check
    engage seed                            load the public sample models (idempotent)
    engage admin grant|revoke EMAIL        give or take the admin role (job dashboard at /admin/rq)
    engage user activate EMAIL             confirm an account whose activation email never arrived
    engage user set-password EMAIL         set a new password (asked for twice; ends its logins)
    engage serve [--no-workers]            workers + app (what `make run` starts)

Bad input exits with status 2 and the same message the web app would show.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engage_reflex.services.errors import EngageError
from engage_reflex.services.names import plural


def _cmd_migrate(args: argparse.Namespace) -> int:
    from engage_reflex.migrations import upgrade

    upgrade()
    print("Database is up to date.")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from engage_reflex.services import calliope_io

    report = calliope_io.import_model_from_cli(
        path=Path(args.directory), owner_email=args.owner, is_public=args.public, name=args.name
    )
    print(
        f"Imported model {report.name!r} (id {report.model_id}): {report.locations} locations, "
        f"{report.technologies} technologies, {report.nodes} nodes, {report.links} links, "
        f"{report.timeseries} timeseries, {report.scenarios} scenarios."
    )
    for warning in report.warnings:
        print(f"  note: {warning}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from engage_reflex.services import calliope_io

    model_yaml = calliope_io.export_scenario_from_cli(
        model=args.model, scenario=args.scenario, directory=Path(args.directory), solver=args.solver
    )
    print(f"Wrote {model_yaml}; run it with: calliope run {model_yaml}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from engage_reflex.services import model_check

    view = model_check.check_scenario_from_cli(model=args.model, scenario=args.scenario,
                                               start=args.start, end=args.end)
    for finding in view.findings:
        print(f"{finding.severity}: {finding.message} Hint: {finding.hint}")
    period = f", {view.period_start} to {view.period_end}" if view.period_start else ""
    print(f"Checked scenario “{view.scenario_name}” of “{view.model_name}”{period}: "
          f"{plural(len(view.warnings), 'warning')}, {plural(len(view.infos), 'note')}.")
    return 1 if args.strict and view.warnings else 0


def _cmd_seed(args: argparse.Namespace) -> int:
    from engage_reflex.services import samples

    for line in samples.seed_from_cli():
        print(line)
    return 0


def _cmd_admin(args: argparse.Namespace) -> int:
    from engage_reflex.db import session_scope
    from engage_reflex.services import users

    with session_scope() as session:
        if args.action == "grant":
            view = users.grant_admin(session=session, email=args.email)
        else:
            view = users.revoke_admin(session=session, email=args.email)
    role = "is an administrator" if view.is_admin else "is not an administrator"
    print(f"{view.email} {role}.")
    return 0


def _cmd_user(args: argparse.Namespace) -> int:
    import getpass

    from engage_reflex.db import session_scope
    from engage_reflex.services import accounts

    if args.action == "activate":
        with session_scope() as session:
            view = accounts.activate_account(session=session, email=args.email)
        print(f"{view.email} is active: it can log in.")
        return 0
    if sys.stdin.isatty():
        password = getpass.getpass(f"New password for {args.email}: ")
        if getpass.getpass("The same password again: ") != password:
            raise EngageError("The two passwords are not the same. Nothing changed.")
    else:  # piped in (scripts): the first line
        password = sys.stdin.readline().rstrip("\r\n")
    with session_scope() as session:
        ended = accounts.set_password(session=session, email=args.email, password=password)
    print(f"The password of {args.email} is changed; {plural(ended, 'login session')} ended.")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from engage_reflex import launcher

    return launcher.serve(with_workers=not args.no_workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engage", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_cmd_migrate)

    p = sub.add_parser("import", help="import a Calliope 0.7 model directory")
    p.add_argument("directory", help="folder holding model.yaml (or the path of the YAML file)")
    p.add_argument("--owner", default=None, help="email of the owning user (default: the samples user)")
    p.add_argument("--public", action="store_true", help="make the model visible to every user")
    p.add_argument("--name", default=None, help="model name (default: config.init.name)")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("export", help="write a scenario as a directory `calliope run` accepts")
    p.add_argument("model", help="model id or name")
    p.add_argument("scenario", help="scenario id or name")
    p.add_argument("directory", help="output folder (created; must be empty if it exists)")
    p.add_argument("--solver", default="highs", choices=["highs", "cbc", "glpk"])
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("check", help="report what would make a scenario's results meaningless")
    p.add_argument("model", help="model id or name")
    p.add_argument("scenario", help="scenario id or name")
    p.add_argument("--start", default=None, help="first day of the run (YYYY-MM-DD; default: the scenario's)")
    p.add_argument("--end", default=None, help="last day of the run, included (YYYY-MM-DD)")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when there are warnings")
    p.set_defaults(func=_cmd_check)

    sub.add_parser("seed", help="load the public sample models").set_defaults(func=_cmd_seed)

    p = sub.add_parser("admin", help="give or take the admin role (who may open the job dashboard)")
    p.add_argument("action", choices=["grant", "revoke"])
    p.add_argument("email", help="the account's email")
    p.set_defaults(func=_cmd_admin)

    p = sub.add_parser("user", help="activate an account or set its password (without email)")
    p.add_argument("action", choices=["activate", "set-password"])
    p.add_argument("email", help="the account's email")
    p.set_defaults(func=_cmd_user)

    p = sub.add_parser("serve", help="start workers and the app; Ctrl-C stops them")
    # Kept so existing scripts still work: the job dashboard is now part of the app (/admin/rq).
    p.add_argument("--no-dashboard", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-workers", action="store_true", help="do not start RQ workers (they run elsewhere)")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":  # serve creates the secret when none is set, then checks it
        from engage_reflex.settings import exit_if_unsafe_secret

        exit_if_unsafe_secret()
    try:
        return args.func(args)
    except EngageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
