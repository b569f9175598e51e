"""docker/compose.yml, docker/compose.worker.yml and docker/nginx.conf: what an operator relies on.

The compose files are read as compose reads them (YAML merge keys, `${VAR:-default}` and
`${VAR:?message}` interpolation); nginx.conf is checked as text and, when an nginx binary is
available (on PATH, or ENGAGE_TEST_NGINX), run for real in front of two stand-in replicas.
`docker compose config` runs when the compose plugin is installed (it pulls nothing).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from ruamel.yaml import YAML

from engage_reflex.services.timeseries_csv import MAX_FILE_BYTES

DOCKER = Path(__file__).resolve().parents[2] / "docker"
MAIN = DOCKER / "compose.yml"
WORKERS = DOCKER / "compose.worker.yml"
NGINX_CONF = DOCKER / "nginx.conf"
SECRET = "s" * 48
THREE_URLS = ("DATABASE_URL", "REDIS_URL", "ENGAGE_ARTIFACTS_URL")
WORKER_ENV = {
    "DATABASE_URL": "postgresql+psycopg://engage:pw@10.0.0.5:5432/engage",
    "REDIS_URL": "redis://:pw@10.0.0.5:6379/0",
    "ENGAGE_ARTIFACTS_URL": "s3://engage-runs/runs",
    "ENGAGE_ARTIFACTS_ENDPOINT_URL": "http://10.0.0.5:9000",
    "AWS_ACCESS_KEY_ID": "engage",
    "AWS_SECRET_ACCESS_KEY": "store-secret",
    "ENGAGE_SECRET_KEY": SECRET,
}


# --- reading compose files as compose does --------------------------------------------------

class MissingVariable(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?P<op>:?[-?])?(?P<arg>[^}]*)\}|\$(?P<bare>\w+)")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: `-` default, `?` required, `:` also treats "" as unset."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op = match.group("op") or ""
        value = env.get(name)
        missing = value is None or (op.startswith(":") and value == "")
        if op.endswith("-"):
            return match.group("arg") if missing else value
        if op.endswith("?"):
            if missing:
                raise MissingVariable(name, match.group("arg"))
            return value
        return value or ""

    return _VARIABLE.sub(substitute, text)


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def services(path: Path) -> dict[str, dict]:
    return load(path)["services"]


def environment(service: dict, env: dict[str, str]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def command(service: dict) -> list[str]:
    raw = service.get("command") or []
    return raw.split() if isinstance(raw, str) else [str(part) for part in raw]


def replicas(service: dict) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


def is_engage(service: dict) -> bool:
    return (service.get("build") or {}).get("dockerfile") == "docker/Dockerfile"


def is_app(service: dict) -> bool:
    return is_engage(service) and command(service)[:2] == ["reflex", "run"]


def is_worker(service: dict) -> bool:
    return is_engage(service) and command(service)[:3] == ["python", "-m", "jobs.worker"]


def named_volumes(service: dict, declared: set[str]) -> set[str]:
    names = set()
    for mount in service.get("volumes") or []:
        source = mount.get("source", "") if isinstance(mount, dict) else str(mount).split(":")[0]
        if source in declared:
            names.add(source)
    return names


def image_of(svc: dict) -> str:
    return str(svc.get("image", ""))


def the_service(all_services: dict[str, dict], image_prefix: str) -> tuple[str, dict]:
    found = [(name, svc) for name, svc in all_services.items() if image_of(svc).startswith(image_prefix)]
    assert len(found) == 1, f"expected one {image_prefix} service, found {[n for n, _ in found]}"
    return found[0]


# --- docker/compose.yml ---------------------------------------------------------------------

def test_an_s3_store_runs_and_its_bucket_is_created_before_engage_starts():
    all_services = services(MAIN)
    store_name, store = the_service(all_services, "minio/minio")
    assert command(store)[0] == "server"
    assert "healthcheck" in store
    init_name, init = the_service(all_services, "minio/mc")
    assert init["depends_on"][store_name]["condition"] == "service_healthy"
    script = " ".join(init.get("entrypoint", [])) + " " + " ".join(command(init))
    bucket = re.search(r"mc mb --ignore-existing \w+/([\w.-]+)", script).group(1)
    for name, svc in all_services.items():
        if is_app(svc) or is_worker(svc):
            assert svc["depends_on"][init_name]["condition"] == "service_completed_successfully", name
            assert urlsplit(environment(svc, {"ENGAGE_SECRET_KEY": SECRET})["ENGAGE_ARTIFACTS_URL"]).netloc == bucket


def test_two_app_replicas_start_no_workers_and_only_the_entry_publishes_a_port():
    all_services = services(MAIN)
    apps = {name: svc for name, svc in all_services.items() if is_app(svc)}
    assert sum(replicas(svc) for svc in apps.values()) >= 2
    for name, svc in apps.items():
        args = command(svc)
        assert "--single-port" in args and "--env" in args and args[args.index("--env") + 1] == "prod"
        assert "jobs.worker" not in args and "serve" not in args, f"{name} would start workers"
        assert not svc.get("ports"), f"{name} must be reached through the entry, not directly"
        assert "/ping" in " ".join(svc["healthcheck"]["test"])
    public = {}
    for name, svc in all_services.items():
        for port in svc.get("ports") or []:
            published = interpolate(str(port), {})
            if published.count(":") < 2 or not published.startswith("127.0.0.1:"):
                public[name] = published
    assert list(public) == ["proxy"], f"only the entry may listen beyond this machine by default: {public}"
    proxy = all_services["proxy"]
    assert public["proxy"] == "3000:80"
    assert image_of(proxy).startswith("nginx:")
    mounts = [str(m).split(":") for m in proxy["volumes"]]
    assert ["./nginx.conf", "/etc/nginx/conf.d/default.conf", "ro"] in mounts
    assert (MAIN.parent / "nginx.conf").is_file()
    for name in apps:
        assert proxy["depends_on"][name]["condition"] == "service_healthy"
    assert "healthcheck" in proxy


def test_short_and_long_workers_have_replica_knobs():
    for path in (MAIN, WORKERS):
        workers = {name: svc for name, svc in services(path).items() if is_worker(svc)}
        queues = {command(svc)[-1]: svc for svc in workers.values()}
        assert set(queues) == {"short", "long"}, path.name
        for svc in workers.values():
            assert isinstance(svc["deploy"]["replicas"], int) and svc["deploy"]["replicas"] >= 1
            assert not svc.get("ports")


def test_no_named_volume_is_shared_between_the_app_and_the_workers():
    document = load(MAIN)
    declared = set(document.get("volumes") or {})
    app_volumes, worker_volumes = set(), set()
    for name, svc in document["services"].items():
        if is_app(svc):
            app_volumes |= named_volumes(svc, declared)
        elif is_worker(svc):
            worker_volumes |= named_volumes(svc, declared)
    assert not app_volumes & worker_volumes
    # Replicas of one service would share a named volume among themselves too.
    assert not app_volumes and not worker_volumes
    for name, svc in document["services"].items():
        if is_app(svc) or is_worker(svc):
            assert all(":" not in str(m) for m in svc.get("volumes") or []), f"{name}: scratch only, no host folder"


@pytest.mark.parametrize("env", [
    {"ENGAGE_SECRET_KEY": SECRET},
    {"ENGAGE_SECRET_KEY": SECRET, "POSTGRES_PASSWORD": "pg-pw", "REDIS_PASSWORD": "redis-pw",
     "AWS_ACCESS_KEY_ID": "operator", "AWS_SECRET_ACCESS_KEY": "store-pw"},
], ids=["defaults", "own-passwords"])
def test_every_engage_service_reaches_the_compose_database_redis_and_store(env):
    all_services = services(MAIN)
    pg_name, pg = the_service(all_services, "postgres:")
    redis_name, redis = the_service(all_services, "redis:")
    store_name, store = the_service(all_services, "minio/minio")
    pg_env, store_env = environment(pg, env), environment(store, env)
    redis_args = [interpolate(arg, env) for arg in command(redis)]
    engage = {name: svc for name, svc in all_services.items() if is_engage(svc)}
    assert {"migrate", "worker-short", "worker-long"} <= set(engage) and any(map(is_app, engage.values()))
    for name, svc in engage.items():
        values = environment(svc, env)
        database = urlsplit(values["DATABASE_URL"])
        assert (database.hostname, database.port) == (pg_name, 5432), name
        assert (database.username, database.password) == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"])
        assert database.path == "/" + pg_env["POSTGRES_DB"]
        queue = urlsplit(values["REDIS_URL"])
        assert (queue.scheme, queue.hostname, queue.port) == ("redis", redis_name, 6379), name
        assert redis_args[redis_args.index("--requirepass") + 1] == queue.password
        assert values["ENGAGE_ARTIFACTS_URL"].startswith("s3://"), name
        endpoint = urlsplit(values["ENGAGE_ARTIFACTS_ENDPOINT_URL"])
        assert (endpoint.hostname, endpoint.port) == (store_name, 9000), name
        assert values["AWS_ACCESS_KEY_ID"] == store_env["MINIO_ROOT_USER"]
        assert values["AWS_SECRET_ACCESS_KEY"] == store_env["MINIO_ROOT_PASSWORD"]
        assert values["ENGAGE_SECRET_KEY"] == SECRET


def test_no_engage_container_starts_without_a_secret_key():
    for path in (MAIN, WORKERS):
        for name, svc in services(path).items():
            if is_engage(svc):
                with pytest.raises(MissingVariable) as missing:
                    environment(svc, {k: v for k, v in WORKER_ENV.items() if k != "ENGAGE_SECRET_KEY"})
                assert missing.value.name == "ENGAGE_SECRET_KEY", f"{path.name}: {name}"


def test_long_running_services_have_healthchecks_and_start_in_order():
    all_services = services(MAIN)
    for name, svc in all_services.items():
        if svc.get("restart") == "no":
            continue  # one-shots: the others wait for them to complete
        if not is_worker(svc):
            assert "healthcheck" in svc, name
        for dependency, rule in (svc.get("depends_on") or {}).items():
            expected = ("service_completed_successfully" if all_services[dependency].get("restart") == "no"
                        else "service_healthy")
            assert rule["condition"] == expected, f"{name} -> {dependency}"
    migrate = all_services["migrate"]
    assert "engage migrate" in " ".join(command(migrate))


# --- docker/compose.worker.yml --------------------------------------------------------------

def test_the_worker_file_runs_only_workers_and_needs_the_three_urls():
    all_services = services(WORKERS)
    assert all_services and all(is_worker(svc) for svc in all_services.values())
    assert not load(WORKERS).get("volumes")
    for name, svc in all_services.items():
        assert not svc.get("depends_on") and not svc.get("ports"), name
        for required in (*THREE_URLS, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ENGAGE_SECRET_KEY"):
            for unset in ({k: v for k, v in WORKER_ENV.items() if k != required}, {**WORKER_ENV, required: ""}):
                with pytest.raises(MissingVariable) as missing:
                    environment(svc, unset)
                assert missing.value.name == required
                assert "set " + required in missing.value.message
        # The endpoint must be said, but may be empty (AWS S3 itself needs none).
        with pytest.raises(MissingVariable):
            environment(svc, {k: v for k, v in WORKER_ENV.items() if k != "ENGAGE_ARTIFACTS_ENDPOINT_URL"})
        assert environment(svc, {**WORKER_ENV, "ENGAGE_ARTIFACTS_ENDPOINT_URL": ""})[
            "ENGAGE_ARTIFACTS_ENDPOINT_URL"] == ""
        values = environment(svc, WORKER_ENV)
        assert {key: values[key] for key in WORKER_ENV} == WORKER_ENV


# --- docker/nginx.conf ----------------------------------------------------------------------

def _seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value).groups()
    return int(number) * {"ms": 0, None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def _bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG])?", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[(unit or "").lower()]


def _directive(text: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", text, flags=re.M)


def test_the_entry_passes_websockets_to_every_app_replica():
    text = re.sub(r"#.*", "", NGINX_CONF.read_text(encoding="utf-8"))
    all_services = services(MAIN)
    (app_name,) = [name for name, svc in all_services.items() if is_app(svc)]
    args = command(all_services[app_name])
    port = args[args.index("--backend-port") + 1]
    upstream_name, upstream = re.search(r"upstream\s+(\w+)\s*\{([^}]*)\}", text).groups()
    # One name for every replica, re-resolved through Docker's DNS as replicas come and go.
    assert re.search(rf"^\s*server\s+{app_name}:{port}\s+resolve\b", upstream, flags=re.M)
    assert re.search(r"^\s*zone\s+\w+", upstream, flags=re.M)
    assert _directive(text, "resolver")[0].split()[0] == "127.0.0.11"
    assert _directive(text, "proxy_pass") == [f"http://{upstream_name}"]
    assert _directive(text, "proxy_http_version") == ["1.1"]
    headers = dict(value.split(None, 1) for value in _directive(text, "proxy_set_header"))
    assert headers["Upgrade"] == "$http_upgrade"
    assert headers["Connection"] == "$connection_upgrade"
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*default\s+upgrade;", text)
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert all_services[app_name]["environment"]["REFLEX_TRUSTED_PROXY_HOPS"] == "1"
    assert _seconds(_directive(text, "proxy_read_timeout")[0]) >= 600
    assert _seconds(_directive(text, "proxy_send_timeout")[0]) >= 600
    assert _bytes(_directive(text, "client_max_body_size")[0]) > MAX_FILE_BYTES


# --- nginx for real, in front of two stand-in replicas --------------------------------------

def _nginx_binary() -> str | None:
    return os.environ.get("ENGAGE_TEST_NGINX") or shutil.which("nginx")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Replica(socketserver.ThreadingTCPServer):
    """Records each request's headers; answers GET, POST (after the headers only) and websocket
    upgrades (101, then echoes what comes)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str) -> None:
        self.name, self.requests = name, []
        super().__init__(("127.0.0.1", 0), _ReplicaHandler)


class _ReplicaHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        self.server.requests.append((method, path, headers))
        if headers.get("upgrade", "").lower() == "websocket":
            self.request.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\n\r\n" + rest)
            while chunk := self.request.recv(65536):
                self.request.sendall(chunk)
            return
        body = self.server.name.encode()
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (len(body), body))


def _response(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of one HTTP response (the connection may stay open)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while length and len(body) < int(length.group(1)):
        body += sock.recv(65536)
    return int(head.split()[1]), body


@pytest.fixture
def entry(tmp_path):
    """docker/nginx.conf as it is, but for `listen` and the upstream's one server: here two local
    replicas instead of Docker's DNS name (which exists only inside compose)."""
    binary = _nginx_binary()
    if not binary:
        pytest.skip("nginx is not installed (apt-get install nginx, or set ENGAGE_TEST_NGINX to its binary)")
    replicas = [_Replica("replica-a"), _Replica("replica-b")]
    for replica in replicas:
        threading.Thread(target=replica.serve_forever, daemon=True).start()
    port = _free_port()
    text = NGINX_CONF.read_text(encoding="utf-8")
    text, listens = re.subn(r"^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{port};", text, flags=re.M)
    text, resolvers = re.subn(r"^resolver\s[^;]*;", "", text, flags=re.M)
    local = " ".join(f"server 127.0.0.1:{r.server_address[1]};" for r in replicas)
    text, servers = re.subn(r"^(\s*)server\s+app:3000\s[^;]*;", rf"\1{local}", text, flags=re.M)
    assert (listens, resolvers, servers) == (1, 1, 1), "docker/nginx.conf changed shape: update this fixture"
    (tmp_path / "entry.conf").write_text(text, encoding="utf-8")
    temp = " ".join(f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                        "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; {temp} include {tmp_path}/entry.conf; }}\n", encoding="utf-8")
    proc = subprocess.Popen([binary, "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-g", "daemon off;"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"nginx did not start: {proc.stderr.read().decode(errors='replace')}")
            time.sleep(0.05)
    try:
        yield port, replicas
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for replica in replicas:
            replica.shutdown()
            replica.server_close()


def _request(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode())
    return sock


def test_the_entry_balances_over_both_replicas_and_says_who_the_client_is(entry):
    port, replicas = entry
    answered = []
    for _ in range(4):
        with _request(port, "GET /ping HTTP/1.1\r\nHost: engage.example.org\r\n\r\n") as sock:
            status, body = _response(sock)
        assert status == 200
        answered.append(body.decode())
    assert set(answered) == {"replica-a", "replica-b"}
    _method, _path, headers = replicas[0].requests[0]
    assert headers["host"] == "engage.example.org"
    assert headers["x-forwarded-for"].split(",")[-1].strip() == "127.0.0.1"


def test_the_entry_passes_websocket_upgrades_to_both_replicas(entry):
    port, replicas = entry
    upgrade = ("GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    sockets = []
    try:
        for message in (b"first tab", b"second tab"):
            sock = _request(port, upgrade)
            sockets.append(sock)
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            assert head.split()[1] == b"101"
            sock.sendall(message)  # both ways through the tunnel
            assert sock.recv(100) == message
        # The first websocket is still open, so the second went to the other replica.
        for replica in replicas:
            (method, path, headers), = replica.requests
            assert path.startswith("/_event/")
            assert headers["upgrade"] == "websocket" and headers["connection"].lower() == "upgrade"
    finally:
        for sock in sockets:
            sock.close()


def test_the_entry_lets_a_full_size_upload_through_and_refuses_a_bigger_one(entry):
    port, replicas = entry
    post = "POST /_upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n"
    with _request(port, post.format(MAX_FILE_BYTES + 1024 * 1024)) as sock:
        assert _response(sock)[0] == 200  # streamed on: the replica answered from the headers
    with _request(port, post.format(400 * 1024 * 1024)) as sock:
        assert _response(sock)[0] == 413
    assert sum(len(r.requests) for r in replicas) == 1


# --- docker compose itself ------------------------------------------------------------------

def _compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_available(),
                    reason="docker compose is not installed here (docker and its compose plugin)")
@pytest.mark.parametrize("path", [MAIN, WORKERS], ids=lambda p: p.name)
def test_docker_compose_accepts_the_file(path):
    env = {**os.environ, **WORKER_ENV}
    result = subprocess.run(["docker", "compose", "-f", str(path), "config", "-q"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(["docker", "compose", "-f", str(path), "config", "-q"],
                             env={k: v for k, v in env.items() if k != "ENGAGE_SECRET_KEY"},
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "ENGAGE_SECRET_KEY" in missing.stderr
