"""The access sweep: every event handler of every page state and every HTTP route of the running
backend, called by someone without rights, changes nothing that is not theirs.

The handlers are enumerated from Reflex's state tree, so a new handler is swept without a line
here. Each is called over the backend's own websocket, as a browser tab would call it, twice:
by a visitor without a login and by a logged-in stranger (a user the owner's models are not
shared with). The tab is on the page of the owner's private model (its run, technology, node and
upload in the route and in every id the tab could forge with `setvar`), then of a snapshot of it,
then of the owner's public model. Arguments are filled from each handler's signature with the ids and names of the owner's
things. Afterwards no row of the database is changed or deleted; new rows are only ever the
stranger's own (a copy of the public model, a run of it); a visitor adds none. The HTTP routes
(downloads, exports, the job dashboard, uploads) are called the same way.

Runs on SQLite only: the services the handlers reach are tested on both databases.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import uuid

import pytest
import sqlalchemy as sa

from engage_reflex.models import (Carrier, Link, Location, Node, Run, RunStatus, Scenario, Technology, Timeseries,
                                  Upload, UploadStatus)
from engage_reflex.services import calliope_io, downloads, sharing, snapshots, users
from tests.backend import PROJECT_ROOT, EventSocket, running_backend

PASSWORD = "a-long-password"
# Handlers that act on the caller's own account (log in, register, reset or change their own password,
# log themselves out): tested in test_accounts, test_security and the browser tests.
OWN_ACCOUNT_STATES = {"LoginState", "RegisterState", "ActivateState", "PasswordResetState", "ProfileState"}
OWN_ACCOUNT_HANDLERS = {("AuthState", "logout")}
# Tables of accounts and logins: a stranger's own login session is touched by every event.
ACCOUNT_TABLES = {"users", "login_sessions", "login_failures", "account_links"}


def _state_classes():
    import engage_reflex.engage_reflex  # noqa: F401  (registers every page and so every state)
    from reflex.state import State

    found = []

    def walk(cls):
        for sub in cls.get_substates():
            if sub.__module__.startswith("engage_reflex."):
                found.append(sub)
            walk(sub)

    walk(State)
    return found


def _table_rows(url: str) -> dict[str, dict[tuple, str]]:
    """Every row of every table but the account ones, by primary key, as a stable JSON text."""
    engine = sa.create_engine(url)
    rows: dict[str, dict[tuple, str]] = {}
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                if table.name in ACCOUNT_TABLES or table.name == "alembic_version":
                    continue
                keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
                rows[table.name] = {
                    tuple(m[k] for k in keys): json.dumps({k: str(v) for k, v in m.items()}, sort_keys=True)
                    for m in (r._mapping for r in conn.execute(sa.select(table)))}
    finally:
        engine.dispose()
    return rows


def _digest(rows: dict[str, dict[tuple, str]]) -> str:
    text = json.dumps({t: sorted(v.values()) for t, v in sorted(rows.items())})
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def world(db_url, redis_url, session, calliope_examples_dir, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the sweep runs on SQLite; the services it reaches are tested on both databases")
    owner = users.register(session=session, email="owner@example.org", password=PASSWORD)
    stranger = users.register(session=session, email="stranger@example.org", password=PASSWORD)
    colleague = users.register(session=session, email="colleague@example.org", password=PASSWORD)
    session.commit()
    example = calliope_examples_dir / "national_scale"
    private = calliope_io.import_model_directory(session=session, path=example, owner_id=owner.id,
                                                 name="Private grid").model_id
    public = calliope_io.import_model_directory(session=session, path=example, owner_id=owner.id,
                                                name="Open grid", is_public=True).model_id
    session.commit()
    sharing.share(session=session, user_id=owner.id, model_id=private, email=colleague.email, can_edit=False)
    sharing.share(session=session, user_id=owner.id, model_id=private, email="newcomer@example.org", can_edit=True)
    ids = {"owner": owner.id, "stranger": stranger.id, "models": {}}
    for model_id in (private, public):
        scenario = session.query(Scenario).filter(Scenario.model_id == model_id).first()
        run = Run(model_id=model_id, scenario_id=scenario.id, user_id=owner.id, status=RunStatus.succeeded,
                  message="solved", log="calliope: optimal", objective=1.0)
        upload = Upload(model_id=model_id, user_id=owner.id, filename="demand.csv", status=UploadStatus.failed,
                        message="not a table")
        session.add_all([run, upload])
        session.commit()
        first = lambda table: session.query(table).filter(table.model_id == model_id).first()  # noqa: E731
        ids["models"][model_id] = {
            "model": model_id, "run": run.id, "upload": upload.id, "scenario": scenario.id,
            "tech": first(Technology).id, "node": first(Node).id, "location": first(Location).id,
            "link": first(Link).id, "series": first(Timeseries).id, "carrier": first(Carrier).id,
            "tech_name": first(Technology).name, "carrier_name": first(Carrier).name,
        }
    # A snapshot of the private model (it keeps the model's run): read by whoever reads the model.
    snapshot = snapshots.create_snapshot(session=session, user_id=owner.id, model_id=private).id
    session.commit()
    first = lambda table: session.query(table).filter(table.model_id == snapshot).first()  # noqa: E731
    ids["models"][snapshot] = {
        **ids["models"][private], "model": snapshot, "run": first(Run).id, "scenario": first(Scenario).id,
        "tech": first(Technology).id, "node": first(Node).id, "location": first(Location).id,
        "link": first(Link).id, "series": first(Timeseries).id, "carrier": first(Carrier).id}
    ids["private"], ids["public"], ids["snapshot"] = private, public, snapshot
    ids["stranger_token"] = users.login(session=session, email=stranger.email, password=PASSWORD)
    session.commit()
    return ids


def _id_for(name: str, owner_class: str, ids: dict) -> int:
    """The owner's thing a parameter or state var named `name` most likely means."""
    n = name.lower()
    for key in ("run", "upload", "scenario", "tech", "node", "location", "link", "series", "carrier", "model"):
        if key in n:
            return ids[key]
    by_class = {"Runs": "run", "RunLog": "run", "Links": "link", "Carriers": "carrier", "Locations": "location",
                "Scenario": "scenario", "Timeseries": "series", "Tech": "tech", "Node": "node", "Models": "model"}
    return next((ids[key] for prefix, key in by_class.items() if owner_class.startswith(prefix)), ids["model"])


def _form(ids: dict, stranger_email: str) -> dict:
    """A form with every field any page posts, filled to do the most harm if it went through."""
    text = {"name": "Taken over", "description": "changed by someone without rights", "time_zone": "UTC",
            "share_email": stranger_email, "share_rights": "editor", "email": stranger_email,
            "unit": "kW", "value": "1", "new_name": "Taken over", "rename": "Taken over", "mode": "operate",
            "latitude": "1", "longitude": "1", "quantity_unit": "kWh", "rate_unit": "kW", "base_tech": "supply",
            "carrier_out": ids["carrier_name"], "carrier": ids["carrier_name"], "parameter": "flow_cap_max",
            "cost_class": "monetary", "template": "max_capacity", "techs__" + ids["tech_name"]: "on"}
    return {**text, **{f"{k}_id": str(ids[k]) for k in ("tech", "node", "location", "scenario", "series")}}


def _argument(param: inspect.Parameter, owner_class: str, ids: dict, stranger_email: str):
    annotation = str(param.annotation)
    n = param.name.lower()
    if "dict" in annotation:
        return _form(ids, stranger_email)
    if "bool" in annotation:
        return True
    if "float" in annotation:
        return 1.0
    if "list" in annotation:
        return [str(ids["series"])]
    if "int" in annotation:
        return _id_for(n, owner_class, ids)
    if "email" in n:
        return stranger_email
    if n in ("role", "mode"):
        return "editor"
    if n in ("name", "value") and owner_class.startswith(("Tech", "Node")):
        return "flow_cap_max"
    return str(_id_for(n, owner_class, ids))


def _forged_vars(cls, ids: dict, stranger_email: str) -> dict:
    """Every id and address a tab of this state could set for itself (Reflex's setvar), set to the owner's."""
    forged = {}
    parent = cls.get_parent_state()
    inherited = set(parent.get_fields()) if parent is not None else set()
    for name, field in cls.get_fields().items():
        kind = field.outer_type_
        if name.startswith("_") or name in inherited or kind not in (int, str):
            continue
        if kind is int and name.endswith("_id"):
            forged[name] = _id_for(name, cls.__name__, ids)
        elif kind is str and name.endswith("_email") and name != "user_email":
            forged[name] = stranger_email
    return forged


def _sweep_handlers(socket_: EventSocket, page: str, query: dict, ids: dict, stranger_email: str) -> int:
    """Call every handler once (after forging the ids of its state) and wait until each was handled."""
    from engage_reflex.state.model.runs import RunFormState

    marker_state = RunFormState.get_full_name()
    called = 0

    def send_and_wait(handler: str, payload: dict) -> None:
        nonlocal called
        called += 1
        marker = f"sweep-{called}"
        socket_.emit(handler, payload, page, query)
        # Events of one tab are handled in order: the marker's change arrives after the handler's.
        socket_.emit(f"{marker_state}.setvar", {"var_name": "notes", "value": marker}, page, query)
        socket_.updates_until(lambda u: u.get("delta", {}).get(marker_state, {}).get("notes_rx_state_") == marker,
                              timeout=90)

    for cls in _state_classes():
        if cls.__name__ in OWN_ACCOUNT_STATES:
            continue
        full = cls.get_full_name()
        for var, value in _forged_vars(cls, ids, stranger_email).items():
            send_and_wait(f"{full}.setvar", {"var_name": var, "value": value})
        # Handlers with arguments first: they choose what the others act on (ask_delete, then confirm).
        handlers = sorted(cls.event_handlers.items(),
                          key=lambda kv: -len(inspect.signature(kv[1].fn).parameters))
        for name, handler in handlers:
            if name == "setvar" or (cls.__name__, name) in OWN_ACCOUNT_HANDLERS:
                continue
            params = list(inspect.signature(handler.fn).parameters.values())[1:]
            if any("Upload" in str(p.annotation) for p in params):
                continue  # uploads come over HTTP: swept in _sweep_uploads
            payload = {p.name: _argument(p, cls.__name__, ids, stranger_email) for p in params}
            send_and_wait(f"{full}.{name}", payload)
    return called


def _sweep_uploads(port: int, client_token: str) -> list[int]:
    """Each upload handler, through Reflex's upload route, as this tab."""
    import httpx

    statuses = []
    for cls in _state_classes():
        for name, handler in cls.event_handlers.items():
            params = list(inspect.signature(handler.fn).parameters.values())[1:]
            if not any("Upload" in str(p.annotation) for p in params):
                continue
            files = {"files": ("demand.csv", io.BytesIO(b"timestamp,demand\n2005-01-01 00:00,1\n"), "text/csv")}
            response = httpx.post(f"http://127.0.0.1:{port}/_upload", files=files, timeout=60,
                                  headers={"reflex-client-token": client_token,
                                           "reflex-event-handler": f"{cls.get_full_name()}.{name}"})
            statuses.append(response.status_code)
    return statuses


def _sweep_http(port: int, world: dict) -> None:
    """Every plain HTTP route: no link, a link signed for the stranger, one for a visitor (user 0)."""
    import httpx

    from engage_reflex.api import api

    run_id = world["models"][world["private"]]["run"]
    base = f"http://127.0.0.1:{port}"
    for route in api().routes:
        path = route.path.replace("{run_id:int}", str(run_id)).replace("{export_id}", uuid.uuid4().hex)
        names = ("netcdf", "inputs", "outputs", "log") if "{name}" in path else ("",)
        for name in names:
            url = base + path.replace("{name}", name)
            answers = [httpx.get(url, timeout=30, follow_redirects=False)]
            if name:
                for user_id in (world["stranger"], 0):
                    link = downloads.artefact_link(run_id=run_id, name=name, user_id=user_id)
                    answers.append(httpx.get(base + link, timeout=30, follow_redirects=False))
            for answer in answers:
                assert answer.status_code in (302, 303, 307, 400, 401, 403, 404, 405), (url, answer.status_code)
                assert "calliope" not in answer.text.lower(), url


def test_no_event_or_route_lets_anyone_without_rights_change_anything(world, db_url, redis_url, tmp_path):
    import redis
    from reflex.state import UpdateVarsInternalState

    from engage_reflex.settings import get_settings
    from engage_reflex.state.auth import AuthState

    before = _table_rows(db_url)
    queues = redis.Redis.from_url(redis_url)
    prefix = get_settings().queue_prefix
    jobs_before = {q: queues.llen(f"rq:queue:{prefix}{q}") for q in ("short", "long")}
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "REFLEX_TELEMETRY_ENABLED": "false",
           "REFLEX_CHECK_LATEST_VERSION": "false", "REFLEX_DIR": str(PROJECT_ROOT / ".reflex_home"),
           "REFLEX_WEB_WORKDIR": str(tmp_path / "web")}
    env.pop("SENDGRID_API_KEY", None)
    auth_token_var = f"{AuthState.get_full_name()}.auth_token_rx_state_"
    counts = {}
    with running_backend(env, tmp_path / "backend.log") as port:
        for who in ("visitor", "stranger"):
            for model_id in (world["private"], world["snapshot"], world["public"]):
                ids = world["models"][model_id]
                tab = f"sweep-{who}-{uuid.uuid4().hex}"
                socket_ = EventSocket(port, tab)
                page = f"/models/{model_id}/runs"
                query = {"model_id": str(model_id), "run_id": str(ids["run"]), "tech_id": str(ids["tech"]),
                         "node_id": str(ids["node"])}
                if who == "stranger":
                    # As a browser hands over its stored login when the tab opens.
                    socket_.emit(f"{UpdateVarsInternalState.get_full_name()}.update_vars_internal",
                                 {"vars": {auth_token_var: world["stranger_token"]}}, page, query)
                counts[(who, model_id)] = _sweep_handlers(socket_, page, query, ids, "stranger@example.org")
                upload_statuses = _sweep_uploads(port, tab)
                assert upload_statuses, "no upload handler was found"
                socket_.close()
            if who == "visitor":  # a visitor adds nothing at all, and starts no job
                assert _digest(_table_rows(db_url)) == _digest(before), "a visitor changed the database"
                assert {q: queues.llen(f"rq:queue:{prefix}{q}") for q in ("short", "long")} == jobs_before
        _sweep_http(port, world)
    # Every page state's handlers were reached (about 200 today; the number grows with the app).
    assert min(counts.values()) >= 150, counts

    after = _table_rows(db_url)
    for table, rows in before.items():
        for key, row in rows.items():
            assert after[table].get(key) == row, f"{table} {key} changed or went: {row} -> {after[table].get(key)}"
    added = {table: [json.loads(after[table][k]) for k in set(after[table]) - set(before.get(table, {}))]
             for table in after}
    stranger = str(world["stranger"])
    own_models = {m["id"] for m in added.get("energy_models", []) if m["owner_id"] == stranger}
    # The stranger was logged in and the handlers acted: what is theirs to do went through (a copy of
    # the public model), so every refusal above was a refusal of rights, not of a broken call.
    assert own_models, "the stranger made no copy of the public model: the sweep did not act as them"
    # Rows without a model_id belong to a model through their technology, node, link or scenario.
    model_of = {column: {json.loads(r)["id"]: json.loads(r)["model_id"] for r in after[table].values()}
                for column, table in (("technology_id", "technologies"), ("node_id", "nodes"), ("link_id", "links"),
                                      ("scenario_id", "scenarios"), ("location_id", "locations"))}
    for table, rows in added.items():
        for row in rows:
            owning_model = row.get("model_id") or next(
                (model_of[c].get(row[c]) for c in model_of if row.get(c) not in (None, "None")), None)
            if table == "energy_models":
                mine = row["owner_id"] == stranger
            elif table == "runs":  # a run of the public model is the stranger's own
                mine = row["user_id"] == stranger and row["model_id"] in own_models | {str(world["public"])}
            elif owning_model not in (None, "None"):
                mine = owning_model in own_models
            else:  # e.g. a model zip upload that is not a model yet
                mine = row.get("user_id") == stranger
            assert mine, f"the stranger added a row that is not theirs to {table}: {row}"
    queues.close()
