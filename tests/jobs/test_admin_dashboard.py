"""The job dashboard inside the app's own server: the real Engage app (compiled once, served by uvicorn
on a free port) answers /admin/rq with rq-dashboard for admins only, over plain HTTP.
The app is compiled into a temporary web folder (as the browser tests do), not the checkout's .web.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from rq import Queue

from engage_reflex.services import admin, users
from engage_reflex.settings import PROJECT_ROOT

LOGIN_REDIRECT = "/login?next=/models"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """The real app (engage_reflex.engage_reflex:app) behind uvicorn; each test's database and Redis
    are those its fixtures set, since the app reads the settings on every request."""
    import uvicorn

    bun_dir = PROJECT_ROOT / "tools" / "bun" / "node_modules" / ".bin"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REFLEX_WEB_WORKDIR", str(tmp_path_factory.mktemp("admin-web") / "web"))
        patch.setenv("REFLEX_USE_SYSTEM_BUN", "true")
        patch.setenv("REFLEX_TELEMETRY_ENABLED", "false")
        patch.setenv("REFLEX_CHECK_LATEST_VERSION", "false")
        patch.setenv("REFLEX_DIR", str(PROJECT_ROOT / ".reflex_home"))
        patch.setenv("PATH", os.pathsep.join([str(bun_dir), os.environ.get("PATH", "")]))
        from engage_reflex.engage_reflex import app

        asgi = app()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def client(app_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, follow_redirects=False, timeout=30) as http:
        yield http


@pytest.fixture
def queued_job(redis_url) -> Iterator[str]:
    """A job waiting on a queue of its own, for the dashboard to list."""
    import redis

    conn = redis.Redis.from_url(redis_url)
    queue = Queue(f"admin-dashboard-{uuid.uuid4().hex[:8]}", connection=conn)
    queue.enqueue("os.getcwd")
    try:
        yield queue.name
    finally:
        queue.delete(delete_jobs=True)
        conn.close()


@pytest.fixture
def accounts(session):
    """The first account registered (an admin) and a second, normal one."""
    first = users.register(session=session, email="ops@example.org", password="correct horse")
    second = users.register(session=session, email="planner@example.org", password="correct horse")
    assert first.is_admin and not second.is_admin
    return first, second


def _with_cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{admin.COOKIE_NAME}={value}"}


def _open_as(client: httpx.Client, session, user_id: int) -> str:
    """Follow an admin's dashboard link as the browser does; returns the cookie the app set."""
    response = client.get(admin.dashboard_link(session=session, user_id=user_id))
    assert response.status_code == 303 and response.headers["location"] == "/admin/rq/"
    set_cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "Max-Age=3600", "Path=/admin/rq", "SameSite=strict"):
        assert attribute in set_cookie
    return response.cookies[admin.COOKIE_NAME]


def test_anonymous_visitors_are_sent_to_log_in_and_reach_nothing(client, accounts, queued_job, redis_url):
    for path in ("/admin/rq/", "/admin/rq", "/admin/rq/0/data/queues.json"):
        response = client.get(path, follow_redirects=True) if path == "/admin/rq" else client.get(path)
        last = response.history[-1] if response.history else response
        assert last.status_code == 303 and last.headers["location"] == LOGIN_REDIRECT, path
        assert queued_job not in response.text
    # The dashboard's own actions (requeue, empty a queue) are behind the same gate.
    response = client.post(f"/admin/rq/queue/{queued_job}/queued/empty")
    assert response.status_code == 303
    import redis

    assert Queue(queued_job, connection=redis.Redis.from_url(redis_url)).count == 1  # not emptied


def test_an_admin_opens_the_dashboard_and_sees_the_queues(client, session, accounts, queued_job):
    ops, _planner = accounts
    cookie = _open_as(client, session, ops.id)
    page = client.get("/admin/rq/", headers=_with_cookie(cookie))
    assert page.status_code == 200
    assert "<title>RQ dashboard</title>" in page.text
    assert 'href="/admin/rq/static/css/main.css"' in page.text  # its links stay under the mount
    for asset in ("/admin/rq/static/css/main.css", "/admin/rq/static/favicon.ico"):
        assert client.get(asset, headers=_with_cookie(cookie)).status_code == 200, asset
    queues = client.get("/admin/rq/0/data/queues.json", headers=_with_cookie(cookie))
    assert queues.status_code == 200
    listed = {queue["name"]: queue["count"] for queue in queues.json()["queues"]}
    assert listed[queued_job] == 1


def test_a_normal_user_is_refused_even_with_a_correctly_signed_cookie(client, session, accounts, queued_job):
    _ops, planner = accounts
    response = client.get("/admin/rq/", headers=_with_cookie(admin.dashboard_cookie(user_id=planner.id)))
    assert response.status_code == 403
    assert response.text == admin.NOT_ADMIN
    assert client.get("/admin/rq/0/data/queues.json",
                      headers=_with_cookie(admin.dashboard_cookie(user_id=planner.id))).status_code == 403


def test_forged_and_expired_cookies_and_links_are_refused(client, session, accounts, queued_job):
    ops, planner = accounts
    cookie = _open_as(client, session, ops.id)
    user, expires, sig = cookie.split(".")
    forged = client.get("/admin/rq/", headers=_with_cookie(f"{planner.id}.{expires}.{sig}"))
    assert forged.status_code == 403 and "not valid" in forged.text
    made_up = client.get("/admin/rq/", headers=_with_cookie(f"{ops.id}.{expires}.{'a' * 64}"))
    assert made_up.status_code == 403 and queued_job not in made_up.text
    old = admin.dashboard_cookie(user_id=ops.id, now=time.time() - admin.COOKIE_SECONDS - 5)
    expired = client.get("/admin/rq/", headers=_with_cookie(old))
    assert expired.status_code == 303 and expired.headers["location"] == LOGIN_REDIRECT

    stale_link = admin.dashboard_link(session=session, user_id=ops.id, now=time.time() - 120)
    response = client.get(stale_link)
    assert response.status_code == 403 and "has expired" in response.text
    assert "set-cookie" not in response.headers
    altered = admin.dashboard_link(session=session, user_id=ops.id).replace(f"user={ops.id}", f"user={planner.id}")
    response = client.get(altered)
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_an_admin_whose_role_is_revoked_is_refused_at_the_next_request(client, session, accounts, queued_job):
    ops, planner = accounts
    users.grant_admin(session=session, email=planner.email)
    session.commit()
    cookie = _open_as(client, session, planner.id)
    link = admin.dashboard_link(session=session, user_id=planner.id)
    assert client.get("/admin/rq/", headers=_with_cookie(cookie)).status_code == 200

    users.revoke_admin(session=session, email=planner.email)
    session.commit()
    response = client.get("/admin/rq/", headers=_with_cookie(cookie))
    assert response.status_code == 403 and response.text == admin.NOT_ADMIN
    response = client.get(link)  # a link made while still an admin
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert client.get("/admin/rq/", headers=_with_cookie(_open_as(client, session, ops.id))).status_code == 200

