"""Safe by default: the secret key at every entry point, hashed login tokens, login rate limits,
equal-time answers, same-site `next` paths and signed, short-lived download links.

Entry points run as real subprocesses without the test flag (ENGAGE_ENV=test, which
tests/conftest.py sets for everything else); the database tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import stat
import statistics
import subprocess
import sys
import time
import uuid
import warnings
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its test client; httpx works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from engage_reflex.api import api
from engage_reflex.models import EnergyModel, LoginSession, Run, RunStatus, Scenario, User
from engage_reflex.models.users import LoginFailure
from engage_reflex.services import downloads, users
from engage_reflex.services.errors import EngageError
from engage_reflex.settings import DEV_SECRET, ensure_secret, get_settings
from engage_reflex.state.auth import HOME_ROUTE, safe_next
from tests.backend import EventSocket, running_backend
from tests.conftest import REDIS_TEST_URL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GOOD_SECRET = "k3Y-" + "x7Qp" * 12  # 52 characters, not the development value
REFUSAL = "Engage will not start"


# --- the secret key at every entry point -------------------------------------------------------

def _operator_env(data_dir: Path, secret: str | None, **extra: str) -> dict[str, str]:
    """The environment an operator's shell would give: no test flag, a fresh data directory,
    nothing reachable (a process that wrongly starts fails, but without the refusal message)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENGAGE_ENV", "ENGAGE_SECRET_KEY")}
    env.update({
        "ENGAGE_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'engage.db'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "ENGAGE_PORT": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_DIR": str(PROJECT_ROOT / ".reflex_home"),
        "REFLEX_WEB_WORKDIR": str(data_dir / "web"),
    })
    if secret is not None:
        env["ENGAGE_SECRET_KEY"] = secret
    env.update(extra)
    return env


ENTRY_POINTS = {
    "cli": [str(BIN / "engage"), "migrate"],
    "launcher": [str(BIN / "engage"), "serve", "--no-dashboard", "--no-workers"],
    "worker": [sys.executable, "-m", "jobs.worker", "--burst"],
    "web app": [str(BIN / "reflex"), "run", "--env", "prod", "--backend-only", "--backend-port", "1"],
    "docker image": ["sh", str(PROJECT_ROOT / "docker" / "entrypoint.sh"), "true"],
}


def _run(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # it started for real: the check let it through
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{argv} was still running after {timeout} s instead of refusing:\n{out}\n{err}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


UNSAFE_SECRETS = [(DEV_SECRET, "public development value"), (None, "is not set"),
                  ("short-but-not-dev", "too short")]


@pytest.mark.parametrize("entry, secret, reason", [
    pytest.param(entry, secret, reason, id=f"{entry}-{reason}")
    for entry in ENTRY_POINTS for secret, reason in UNSAFE_SECRETS
    # with no secret at all, `engage serve` creates one: see the secret-file test below
    if not (entry == "launcher" and secret is None)
])
def test_every_entry_point_refuses_an_unsafe_secret(tmp_path, entry, secret, reason):
    result = _run(ENTRY_POINTS[entry], _operator_env(tmp_path / "data", secret))
    assert result.returncode != 0, result
    assert REFUSAL in result.stderr and reason in result.stderr, result.stderr
    assert "Set ENGAGE_SECRET_KEY to a long random value" in result.stderr
    assert not (tmp_path / "data" / "engage.db").exists()  # refused before touching anything


def test_entry_points_accept_a_safe_secret(tmp_path):
    data = tmp_path / "data"
    migrate = _run(ENTRY_POINTS["cli"], _operator_env(data, GOOD_SECRET))
    assert migrate.returncode == 0, migrate.stderr
    assert "Database is up to date" in migrate.stdout and (data / "engage.db").exists()
    docker = _run(["sh", str(PROJECT_ROOT / "docker" / "entrypoint.sh"), "echo", "role started"],
                  _operator_env(data, GOOD_SECRET))
    assert docker.returncode == 0 and docker.stdout.strip() == "role started", docker.stderr


def test_serve_creates_the_secret_once_mode_0600_and_every_process_reuses_it(tmp_path):
    data = tmp_path / "data"
    secret_file = data / "secret_key"
    # Redis is unreachable: `engage serve` stops right after the secret step, with a Redis message.
    first = _run(ENTRY_POINTS["launcher"], _operator_env(data, None))
    assert first.returncode == 1 and "Redis does not answer" in first.stderr, first.stderr
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 48 and secret != DEV_SECRET
    assert [p.name for p in data.iterdir()] == ["secret_key"]  # no temporary file left behind

    second = _run(ENTRY_POINTS["launcher"], _operator_env(data, None))
    assert "Redis does not answer" in second.stderr and secret_file.read_text().strip() == secret

    # The other entry points, started without ENGAGE_SECRET_KEY, use the file.
    migrate = _run(ENTRY_POINTS["cli"], _operator_env(data, None))
    assert migrate.returncode == 0, migrate.stderr
    probe = _run([sys.executable, "-c", "from engage_reflex.settings import get_settings; "
                  "print(get_settings().secret_key)"], _operator_env(data, None))
    assert probe.stdout.strip() == secret

    # A secret file others can read is refused, with the fix in the message.
    secret_file.chmod(0o644)
    leaky = _run(ENTRY_POINTS["cli"], _operator_env(data, None))
    assert leaky.returncode != 0 and "can be read by other users" in leaky.stderr and "chmod 600" in leaky.stderr


def test_concurrent_first_starts_agree_on_one_secret(tmp_path):
    data = tmp_path / "data"
    code = "from engage_reflex.settings import ensure_secret; print(ensure_secret())"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=_operator_env(data, None),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    secrets_seen = {out.strip() for out, _err in outputs}
    assert secrets_seen == {(data / "secret_key").read_text().strip()}
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"]


def test_a_secret_from_the_environment_is_used_and_no_file_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ENGAGE_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("ENGAGE_ENV", "development")
    get_settings.cache_clear()
    try:
        assert ensure_secret() == GOOD_SECRET
        assert not (tmp_path / "data" / "secret_key").exists()
    finally:
        get_settings.cache_clear()


# --- login tokens, rate limits, equal time -----------------------------------------------------

@pytest.fixture
def login_limits(monkeypatch):
    def set_limits(per_account: int, per_address: int, window: int = 900) -> None:
        monkeypatch.setenv("ENGAGE_LOGIN_FAILURES_PER_ACCOUNT", str(per_account))
        monkeypatch.setenv("ENGAGE_LOGIN_FAILURES_PER_ADDRESS", str(per_address))
        monkeypatch.setenv("ENGAGE_LOGIN_FAILURE_WINDOW_SECONDS", str(window))
        get_settings.cache_clear()

    yield set_limits
    get_settings.cache_clear()


def test_the_database_never_holds_a_login_token(session):
    users.register(session=session, email="ada@example.org", password="correct horse")
    token = users.login(session=session, email="ada@example.org", password="correct horse")
    rows = session.connection().execute(sa.text("SELECT * FROM login_sessions")).all()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    stored = session.exec(select(LoginSession)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # A copy of the database does not log anyone in: the stored value is not a token.
    assert users.user_for_token(session=session, token=stored.token_hash) is None
    assert users.user_for_token(session=session, token=token).email == "ada@example.org"
    users.logout(session=session, token=token)
    assert session.exec(select(LoginSession)).all() == []


def _login_error(session, email: str, password: str, client_ip: str = "") -> str:
    with pytest.raises(EngageError) as failure:
        users.login(session=session, email=email, password=password, client_ip=client_ip)
    return failure.value.message


def _seconds_in(message: str) -> int:
    prefix, suffix = "Too many attempts. Please try again in ", " s."
    assert message.startswith(prefix) and message.endswith(suffix), message
    return int(message[len(prefix):-len(suffix)])


def _age_failures(session, seconds: int) -> None:
    """Let time pass for the recorded failures."""
    for failure in session.exec(select(LoginFailure)).all():
        created = failure.created_at if failure.created_at.tzinfo else failure.created_at.replace(tzinfo=UTC)
        failure.created_at = created - timedelta(seconds=seconds)
        session.add(failure)
    session.commit()


def test_rate_limit_per_account(session, login_limits):
    login_limits(per_account=3, per_address=100)
    users.register(session=session, email="bob@example.org", password="right password")
    for attempt in range(3):
        assert "email or password" in _login_error(session, "bob@example.org", "wrong", f"10.0.0.{attempt}")
    # Locked: even the right password, from yet another address, gets the wait, in real seconds.
    wait = _seconds_in(_login_error(session, "BOB@example.org", "right password", "10.0.0.99"))
    assert 895 <= wait <= 900
    # Half the window later the wait is half as long.
    _age_failures(session, 600)
    assert 295 <= _seconds_in(_login_error(session, "bob@example.org", "right password", "10.0.0.99")) <= 300
    # Once the oldest failure leaves the window, the right password works and clears the account's count.
    _age_failures(session, 301)
    assert users.login(session=session, email="bob@example.org", password="right password", client_ip="10.0.0.99")
    assert session.exec(select(LoginFailure).where(LoginFailure.email == "bob@example.org")).all() == []
    # Another account was never affected; unknown accounts are limited the same way (no tell).
    for _ in range(3):
        _login_error(session, "nobody@example.org", "guess", "10.0.1.1")
    assert _seconds_in(_login_error(session, "nobody@example.org", "guess", "10.0.1.2")) > 0


def test_rate_limit_per_client_address(session, login_limits):
    login_limits(per_account=100, per_address=4)
    users.register(session=session, email="carol@example.org", password="right password")
    for i in range(4):  # one address guessing at several accounts
        _login_error(session, f"user{i}@example.org", "guess", "203.0.113.7")
    wait = _seconds_in(_login_error(session, "carol@example.org", "right password", "203.0.113.7"))
    assert 895 <= wait <= 900
    # Logging in to one's own account from that address does not reset the address's count ...
    _login_error(session, "carol@example.org", "right password", "203.0.113.7")
    # ... while other addresses are not affected.
    assert users.login(session=session, email="carol@example.org", password="right password",
                       client_ip="198.51.100.1")
    assert _seconds_in(_login_error(session, "someone@example.org", "x", "203.0.113.7")) > 0


def test_registering_from_a_locked_address_logs_the_new_account_in(session, login_limits):
    """The address's login limit must not leave an account the form says was not created."""
    from engage_reflex.state.register import register_and_log_in

    login_limits(per_account=100, per_address=2)
    for i in range(2):
        _login_error(session, f"user{i}@example.org", "guess", "203.0.113.9")
    registered, token = register_and_log_in({"email": "erin@example.org", "password": "a fine password"})
    assert users.user_for_token(session=session, token=token).email == "erin@example.org" == registered.user.email


def test_unknown_email_takes_as_long_as_a_wrong_password(session, login_limits):
    login_limits(per_account=1000, per_address=1000)
    users.register(session=session, email="dave@example.org", password="right password")

    def seconds(email: str) -> float:
        started = time.perf_counter()
        _login_error(session, email, "wrong password", "192.0.2.1")
        return time.perf_counter() - started

    seconds("nobody@example.org")  # warm-up (the dummy hash is made on first use)
    known, unknown = [], []
    for _ in range(7):  # interleaved, so a busy machine slows both alike
        known.append(seconds("dave@example.org"))
        unknown.append(seconds("nobody@example.org"))
    known_s, unknown_s = statistics.median(known), statistics.median(unknown)
    # A bcrypt check costs 0.2-0.8 s here; without the dummy check an unknown email answers in ~15 ms.
    assert known_s > 0.05
    assert 1 / 3 < unknown_s / known_s < 3, (known_s, unknown_s)


# --- same-site `next` paths ----------------------------------------------------------------------

@pytest.mark.parametrize("hostile", [
    "/\\evil.example", "/\\/evil.example", "\\\\evil.example", "\\/evil.example", "//evil.example",
    "///evil.example", "/%2F%2Fevil.example", "/%2f/evil.example", "/%252F%252Fevil.example",
    "/%5Cevil.example", "/%5C%5Cevil.example", "https://evil.example", "http:evil.example",
    "javascript:alert(1)", "data:text/html,hi", "evil.example", " /evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\n/evil.example", "/%09/evil.example", "/%0A/evil.example", "/\x00x",
    "/x\u200b", "/x\u2028y", "", None, "/login", "/login?next=/models",
])
def test_safe_next_refuses_hostile_paths(hostile):
    assert safe_next(hostile) == HOME_ROUTE


@pytest.mark.parametrize("path", ["/models", "/models/12", "/runs/3?carrier=power&node=r1",
                                  "/models/a%20b", "/runs/3#plots", "/models?next=%2F%2Fx"])
def test_safe_next_keeps_same_site_paths(path):
    assert safe_next(path) == path


# --- signed, short-lived download links ----------------------------------------------------------

@pytest.fixture
def download_world(session, monkeypatch):
    """Two users, a succeeded run of each with a real file, and the app using its own secret."""
    monkeypatch.setenv("ENGAGE_SECRET_KEY", GOOD_SECRET)
    get_settings.cache_clear()
    owner = User(email="owner@example.org", password_hash="x")
    other = User(email="other@example.org", password_hash="x")
    session.add_all([owner, other])
    session.commit()
    runs = []
    for user in (owner, other):
        model = EnergyModel(name=f"Model of {user.email}", owner_id=user.id)
        session.add(model)
        session.commit()
        scenario = Scenario(model_id=model.id, name="base")
        session.add(scenario)
        session.commit()
        run = Run(model_id=model.id, scenario_id=scenario.id, user_id=user.id, status=RunStatus.succeeded,
                  artefacts={"netcdf": "model.nc", "flows": "flows.csv"})
        session.add(run)
        session.commit()
        run.artefact_dir = f"runs/{run.id}"
        session.add(run)
        session.commit()
        folder = get_settings().data_dir / run.artefact_dir
        folder.mkdir(parents=True)
        (folder / "model.nc").write_bytes(b"CDF\x01 results of run %d" % run.id)
        (folder / "flows.csv").write_text("timestep,value\n")
        runs.append(run)
    yield {"owner": owner, "other": other, "run": runs[0], "other_run": runs[1], "client": TestClient(api())}
    get_settings.cache_clear()


def _query(link: str) -> tuple[str, dict[str, str]]:
    path, query = link.split("?")
    return path, dict(part.split("=") for part in query.split("&"))


def _signed_with(key: str, run_id: int, name: str, user_id: int, expires: int) -> str:
    message = f"engage-download:{run_id}:{name}:{user_id}:{expires}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def test_a_valid_link_downloads_the_file(download_world):
    w = download_world
    link = downloads.artefact_link(run_id=w["run"].id, name="netcdf", user_id=w["owner"].id)
    response = w["client"].get(link)
    assert response.status_code == 200
    assert response.content == b"CDF\x01 results of run %d" % w["run"].id
    assert "attachment" in response.headers["content-disposition"]
    assert "no-store" in response.headers["cache-control"]


def test_altered_or_forged_links_are_refused(download_world):
    w = download_world
    run, owner, other = w["run"], w["owner"], w["other"]
    path, params = _query(downloads.artefact_link(run_id=run.id, name="netcdf", user_id=owner.id))
    expires = int(params["expires"])
    altered = [
        (path, {**params, "sig": "0" * 64}),  # forged signature
        (path, {**params, "sig": params["sig"][:-1] + ("0" if params["sig"][-1] != "0" else "1")}),
        (path, {**params, "sig": params["sig"].upper()}),
        (path, {**params, "sig": "é" * 64}),
        (path, {**params, "sig": ""}),
        (path, {**params, "user": str(other.id)}),  # altered user
        (path, {**params, "user": f" {owner.id}"}),
        (path, {**params, "expires": str(expires + 3600)}),  # altered expiry
        (path, {**params, "expires": "-1"}),
        (path.replace(f"/{run.id}/", f"/{w['other_run'].id}/"), params),  # altered run id
        (path.replace("/netcdf", "/flows"), params),  # altered artefact
        # properly formed, signed with the public development value while the app uses its own
        (path, {**params, "sig": _signed_with(DEV_SECRET, run.id, "netcdf", owner.id, expires)}),
        # signed with the right key but valid for a day: not a link this app makes
        (path, {**params, "expires": str(expires + 86400),
                "sig": _signed_with(GOOD_SECRET, run.id, "netcdf", owner.id, expires + 86400)}),
    ]
    for url, query in altered:
        response = w["client"].get(url, params=query)
        assert response.status_code == 403, (url, query, response.text)
        assert "not valid" in response.text and "CDF" not in response.text


def test_expired_links_are_refused(download_world):
    w = download_world
    link = downloads.artefact_link(run_id=w["run"].id, name="netcdf", user_id=w["owner"].id,
                                   now=time.time() - downloads.LINK_SECONDS - 2)
    response = w["client"].get(link)
    assert response.status_code == 403 and "expired" in response.text


def test_a_valid_link_for_a_run_one_may_not_see_is_not_found(download_world):
    w = download_world
    link = downloads.artefact_link(run_id=w["other_run"].id, name="netcdf", user_id=w["owner"].id)
    response = w["client"].get(link)
    assert response.status_code == 404 and "CDF" not in response.text


def test_no_link_is_signed_or_accepted_with_the_development_secret(download_world, monkeypatch):
    """If the app were started around the checks with the development value, downloads stay shut."""
    w = download_world
    monkeypatch.setenv("ENGAGE_ENV", "development")
    monkeypatch.setenv("ENGAGE_SECRET_KEY", DEV_SECRET)
    get_settings.cache_clear()
    expires = int(time.time()) + 60
    sig = _signed_with(DEV_SECRET, w["run"].id, "netcdf", w["owner"].id, expires)
    response = w["client"].get(f"{downloads.ROUTE_PREFIX}/{w['run'].id}/netcdf",
                               params={"user": w["owner"].id, "expires": expires, "sig": sig})
    assert response.status_code == 403 and "ENGAGE_SECRET_KEY" in response.text
    with pytest.raises(EngageError, match="ENGAGE_SECRET_KEY"):
        downloads.artefact_link(run_id=w["run"].id, name="netcdf", user_id=w["owner"].id)


# --- the login form in the running web app (its websocket, no browser) ---------------------------

def test_the_login_form_checks_off_the_event_loop_and_limits_by_client_address(tmp_path):
    """A real backend (`reflex run --backend-only`) and its websocket, as the browser uses them:
    the right password logs in and follows only a same-site `next`; the form shows busy, a wrong
    password is refused, and the per-address limit counts the client address Reflex reports."""
    from engage_reflex.state.login import LoginState

    data = tmp_path / "data"
    # A reachable Redis: the web app keeps its per-tab state there.
    env = _operator_env(data, GOOD_SECRET, ENGAGE_LOGIN_FAILURES_PER_ADDRESS="3",
                        ENGAGE_LOGIN_FAILURES_PER_ACCOUNT="100", REDIS_URL=REDIS_TEST_URL,
                        PATH=os.pathsep.join([str(PROJECT_ROOT / "tools" / "bun" / "node_modules" / ".bin"),
                                              str(BIN), os.environ.get("PATH", "")]))
    assert _run(ENTRY_POINTS["cli"], env).returncode == 0
    register = ("from engage_reflex.db import session_scope\nfrom engage_reflex.services import users\n"
                "with session_scope() as s: users.register(session=s, email='ada@example.org', "
                "password='correct horse')")
    assert _run([sys.executable, "-c", register], env).returncode == 0
    from engage_reflex.state.auth import AuthState

    AUTH_STATE = AuthState.get_full_name()
    submit = f"{LoginState.get_full_name()}.submit"
    login_state = LoginState.get_full_name()

    def form_result(update: dict) -> bool:  # the handler's last state change: busy off again
        return update.get("delta", {}).get(login_state, {}).get("busy_rx_state_") is False

    with running_backend(env, tmp_path / "backend.log") as port:
        socket_ = EventSocket(port, f"client-{uuid.uuid4().hex}")  # a new tab: no state kept in Redis
        for next_path, followed in [("/models/7", "/models/7"), ("/\\evil.example", HOME_ROUTE)]:
            socket_.emit(submit, {"form": {"email": "ada@example.org", "password": "correct horse"}}, "/login",
                         {"next": next_path})
            updates = socket_.updates_until(lambda u: any(e["name"] == "_redirect" for e in u.get("events", [])))
            redirect = [e for u in updates for e in u.get("events", []) if e["name"] == "_redirect"][0]
            assert redirect["payload"]["path"] == followed
            token = [u["delta"][AUTH_STATE]["auth_token_rx_state_"] for u in updates
                     if "auth_token_rx_state_" in u.get("delta", {}).get(AUTH_STATE, {})][-1]
            assert len(token) >= 32
        for attempt in range(3):
            socket_.emit(submit, {"form": {"email": f"x{attempt}@example.org", "password": "guess"}}, "/login")
            updates = socket_.updates_until(form_result)
            states = [u["delta"][login_state] for u in updates if login_state in u.get("delta", {})]
            assert states[0].get("busy_rx_state_") is True  # the form shows it is checking ...
            assert "email or password" in states[-1]["error_rx_state_"]  # ... then the answer
        # The fourth try from this address, with the right password, waits: in real seconds.
        socket_.emit(submit, {"form": {"email": "ada@example.org", "password": "correct horse"}}, "/login",
                     {"next": "/models/7"})
        final = socket_.updates_until(form_result)[-1]["delta"][login_state]
        assert 895 <= _seconds_in(final["error_rx_state_"]) <= 900
        socket_.close()
        # The address is Reflex's view of the client (127.0.0.1 here): every failure was counted on it.
        engine = sa.create_engine(env["DATABASE_URL"])
        with engine.connect() as conn:
            addresses = conn.execute(sa.text("SELECT DISTINCT client_ip FROM login_failures")).scalars().all()
        engine.dispose()
        assert addresses == ["127.0.0.1"]
