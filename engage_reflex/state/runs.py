"""The runs list on the model page, kept live.

The database row is the only source of truth: whoever writes it publishes the run's new view
(services/run_events.py), and one background event per open page (`watch`) redraws the row from
that message, without reading the database. It reads the database only when a run appears or is
deleted, after the subscription broke, and every status_fallback_seconds while a run is going (a
lost message). `watch` starts from on_load (so a reload or an app restart picks a running job up
again); it stops when the page changes or the browser goes away. A newer `watch` of the same tab
replaces the older one (supersedes). Database work runs in a worker thread (rx.run_in_thread),
never on the event loop. With ENGAGE_STATUS_PUSH=false the page polls the database instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import RunView
from engage_reflex.services import run_events, runs
from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings
from engage_reflex.state._format import number
from engage_reflex.state.auth import AuthState, lookup_user

log = logging.getLogger(__name__)
TERMINAL = ("succeeded", "failed", "cancelled")


@dataclasses.dataclass(frozen=True)
class RunRow:
    id: int
    status: str
    progress: int
    message: str
    objective: str
    created: str
    scenario: str
    solver: str
    span: str
    has_results: bool
    active: bool
    # The model changed after the run read its inputs, by this many edits ("3 edits since").
    out_of_date: bool = False
    edits_since: str = ""
    notes: str = ""
    reused_from: int = 0  # answered from this run's results (0: solved itself)
    mine: bool = False  # started by the user looking (they may cancel or delete it; editors may too)


def _row(run: RunView, *, mine: bool) -> RunRow:
    span = run.subset_start if run.subset_start == run.subset_end else f"{run.subset_start} → {run.subset_end}"
    if run.resample:
        span += f", every {run.resample}"
    if run.cluster_days:
        span += f", as {run.cluster_days} representative day{'s' if run.cluster_days != 1 else ''}"
    created = run.created_at[:16].replace("T", " ") + " UTC" if run.created_at else ""
    return RunRow(
        id=run.id, status=run.status, progress=int(run.progress or 0), message=run.message or "",
        objective=number(run.objective),
        created=created, scenario=run.scenario_name, solver=run.solver.upper() if run.solver != "highs" else "HiGHS",
        span=span, has_results=bool(run.has_results and run.status == "succeeded"),
        active=run.status not in TERMINAL, out_of_date=run.is_out_of_date,
        edits_since=(f"{run.edits_since} edit{'s' if run.edits_since != 1 else ''} since" if run.edits_since else ""),
        notes=run.notes, reused_from=run.reused_from or 0, mine=mine,
    )


def fetch_runs(token: str, model_id: int) -> list[RunRow] | None:
    """The runs of this model the user sees, newest first (a visitor without a login: those of a
    public model); None when the login is gone."""
    user = lookup_user(token) if token else None
    if token and user is None:
        return None
    with session_scope() as session:
        views = runs.list_runs(session=session, user_id=user.id if user else None, model_id=model_id)
    return [_row(v, mine=user is not None and v.started_by_id == user.id) for v in views]


def read_run_states(run_ids: list[int]) -> dict[int, tuple[str, int, str]]:
    with session_scope() as session:
        return runs.run_states(session=session, run_ids=run_ids)


def cancel_run(token: str, run_id: int) -> None:
    """Cancel one of the user's runs; EngageError says why not. Blocking (database, Redis)."""
    user = lookup_user(token)
    if user is None:
        raise EngageError("Please log in again to cancel this run.")
    with session_scope() as session:
        runs.cancel_run(session=session, user_id=user.id, run_id=run_id)


def rerun_run(token: str, run_id: int, service=runs.rerun) -> RunView:
    """Start a run again (`runs.rerun`: current inputs; `runs.solve_again`: no reuse); EngageError says
    why not. Blocking."""
    user = lookup_user(token)
    if user is None:
        raise EngageError("Please log in again to rerun this run.")
    with session_scope() as session:
        return service(session=session, user_id=user.id, run_id=run_id)


def delete_run(token: str, run_id: int) -> None:
    """Delete a finished run and then its files; EngageError says why not. Blocking."""
    from engage_reflex.services.models import remove_run_folders

    user = lookup_user(token)
    if user is None:
        raise EngageError("Please log in again to delete this run.")
    with session_scope() as session:
        model_id = runs.get_run(session=session, user_id=user.id, run_id=run_id).model_id
        _, folders = runs.delete_run(session=session, user_id=user.id, run_id=run_id)
    run_events.publish(None, run_id=run_id, model_id=model_id, deleted=True)  # other tabs drop the row
    remove_run_folders(folders)  # after the commit: a delete that did not happen keeps its results


def client_connected(token: str) -> bool:
    """Whether the browser tab with this token still has its websocket open."""
    try:
        from reflex.utils.prerequisites import get_and_validate_app

        namespace = get_and_validate_app().app.event_namespace
    except Exception:  # no app in this process (tests): assume someone is watching
        return True
    return namespace is None or token in namespace.token_to_sid


def _model_id(raw: str) -> int | None:
    return int(raw) if str(raw).isdigit() else None


class RunsState(AuthState):
    runs: list[RunRow] = []
    delete_id: int = 0  # the run the delete dialog asks about (0: closed)
    shown_model_id: int = 0  # the model whose runs are shown (for the Compare runs link)

    @rx.var
    def can_compare(self) -> bool:
        """Two runs with results: the Compare runs page has something to show."""
        return sum(1 for r in self.runs if r.has_results) >= 2

    @rx.event
    async def load(self):
        """Show the runs; watch them while any is still going (on_load and after "Run")."""
        model_id = _model_id(self.model_id)
        try:
            rows = (await rx.run_in_thread(functools.partial(fetch_runs, self.auth_token, model_id))
                    if model_id is not None else None)
        except EngageError:  # the model page itself says what is wrong
            rows = None
        self.runs, self.shown_model_id = rows or [], model_id or 0
        if get_settings().status_push or any(r.active for r in self.runs):
            return RunsState.watch

    @rx.event
    async def cancel(self, run_id: int):
        try:
            await rx.run_in_thread(functools.partial(cancel_run, self.auth_token, int(run_id)))
        except EngageError as exc:
            return rx.toast.error(exc.message)
        return [RunsState.load, rx.toast.info(f"Run #{run_id} is cancelled.")]

    @rx.event
    async def rerun(self, run_id: int):
        try:
            new = await rx.run_in_thread(functools.partial(rerun_run, self.auth_token, int(run_id)))
        except EngageError as exc:
            return rx.toast.error(exc.message, duration=10000)
        return [RunsState.load, rx.toast.success(f"Run #{new.id} solves the current inputs (as run #{run_id} did "
                                                 "before the changes).")]

    @rx.event
    async def solve_again(self, run_id: int):
        try:
            new = await rx.run_in_thread(functools.partial(rerun_run, self.auth_token, int(run_id), runs.solve_again))
        except EngageError as exc:
            return rx.toast.error(exc.message, duration=10000)
        return [RunsState.load, rx.toast.success(f"Run #{new.id} solves run #{run_id}'s inputs anew.")]

    @rx.event
    def ask_delete(self, run_id: int):
        self.delete_id = int(run_id)

    @rx.event
    def close_delete(self, open_: bool):
        if not open_:
            self.delete_id = 0

    @rx.event
    async def confirm_delete(self):
        run_id, self.delete_id = self.delete_id, 0
        try:
            await rx.run_in_thread(functools.partial(delete_run, self.auth_token, run_id))
        except EngageError as exc:
            return rx.toast.error(exc.message, duration=10000)
        return [RunsState.load, rx.toast.success(f"Deleted run #{run_id} and its results.")]

    @rx.event(background=True, supersedes=True)
    async def watch(self):
        """Keep the rows live until the page changes or the tab goes away. A pushed change redraws the
        row it names; the database is read when a run appears or goes, after the subscription came
        back, and every status_fallback_seconds while a run is going. Without push, the database is
        read every status_poll_seconds while a run is going."""
        async with self:
            token, model_id = self.auth_token, _model_id(self.model_id)
            page, client = self.router.url.path, self.router.session.client_token
            shown = list(self.runs)
        if model_id is None:
            return
        settings = get_settings()
        push = settings.status_push
        wait = settings.status_fallback_seconds if push else max(0.1, settings.status_poll_seconds)
        watching = run_events.hub().watch(model_id) if push else contextlib.nullcontext()
        async with watching as watcher:
            reload, missed = push, 0  # push: read once more now that nothing can slip by unseen
            while True:
                changes: dict[int, run_events.RunChange] = {}
                if not reload:
                    update = await watcher.next(wait) if watcher is not None else await asyncio.sleep(wait)
                    # A short websocket drop is not leaving: the reconnect reloads the page state anyway.
                    missed = 0 if client_connected(client) else missed + 1
                    if missed >= 3:
                        return
                    if update is None:  # quiet: only a page with a run going looks at the database
                        if push and not await self._still_on(page):  # the planner went elsewhere
                            return
                        if not any(r.active for r in shown):
                            if push:
                                continue
                            return
                        reload = not push or await self._missed_a_change(shown)
                        if not reload:
                            continue
                    else:
                        changes, resync = update
                        known = {r.id for r in shown}
                        reload = resync or any(c.view is None or c.run_id not in known for c in changes.values())
                rows = await self._read_rows(token, model_id) if reload else _patched(shown, changes)
                if rows is False:
                    return
                reload = False
                if rows is None:  # a database hiccup: keep the page as it is and try again
                    continue
                async with self:
                    if self.router.url.path != page:
                        return
                    self.runs = rows
                shown = rows
                if not push and not any(r.active for r in rows):
                    return

    async def _still_on(self, page: str) -> bool:
        """Whether this tab still shows the page the watch began on (the tab's state, no database)."""
        async with self:
            return self.router.url.path == page

    async def _missed_a_change(self, shown: list[RunRow]) -> bool:
        """Whether a shown run changed without a message reaching this page (one small query)."""
        ids = [r.id for r in shown if r.active]
        try:
            states = await rx.run_in_thread(functools.partial(read_run_states, ids))
        except Exception:
            log.exception("Checking the runs %s failed", ids)
            return False
        return any(states.get(r.id) != (r.status, r.progress, r.message) for r in shown if r.active)

    async def _read_rows(self, token: str, model_id: int) -> list[RunRow] | None | bool:
        """The rows from the database; None after a hiccup, False when the page should stop watching."""
        try:
            rows = await rx.run_in_thread(functools.partial(fetch_runs, token, model_id))
        except EngageError:
            return False
        except Exception:
            log.exception("Reading the runs of model %s failed", model_id)
            return None
        return False if rows is None else rows


def _patched(shown: list[RunRow], changes: dict[int, run_events.RunChange]) -> list[RunRow]:
    """The shown rows with the pushed views in place. A finished run never runs again: a message saying
    so is late and left out."""
    rows = []
    for row in shown:
        view = changes[row.id].view if row.id in changes else None
        late = view is not None and not row.active and view.status not in TERMINAL
        rows.append(_row(view, mine=row.mine) if view is not None and not late else row)
    return rows
