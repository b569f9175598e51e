"""A local stand-in of SendGrid's v3 mail-send endpoint: an http.server thread on 127.0.0.1 that
records every request, so the real `sendgrid` client is tested end to end (no mock in-process).
Used by the alert and account email tests, and by the browser tests' app server."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# The stand-in the browser tests' app servers send to, while the e2e `mailbox` fixture runs it. Kept
# here, not in tests/e2e/conftest.py: pytest's conftest and an import of it by name are two modules.
SHARED: SendGridStandIn | None = None


class SendGridStandIn(ThreadingHTTPServer):
    """Answers POST /v3/mail/send with `status` (202, as SendGrid, unless a test says otherwise)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _MailSendHandler)
        self.status = 202
        self.refuse_next: dict[str, int] = {}  # address -> how many more of its emails get a 503
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> SendGridStandIn:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def emails(self) -> list[dict]:
        """The JSON bodies SendGrid accepted."""
        with self.lock:
            return [r["body"] for r in self.requests if r["answered"] == 202]

    def emails_to(self, address: str) -> list[dict]:
        return [e for e in self.emails() if address in _recipients(e)]

    def wait_for_link(self, address: str, path: str, *, count: int = 1, timeout_s: float = 30) -> str:
        """The link to `path` (e.g. "/activate") in the `count`-th such email to `address`, once it came."""
        deadline = time.monotonic() + timeout_s
        while True:
            links = [link for e in self.emails_to(address) for link in re.findall(r"https?://\S+", text_of(e))
                     if f"{path}?" in link]
            if len(links) >= count:
                return links[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no email with a {path} link reached {address} within {timeout_s} s "
                                     f"(the stand-in took {len(self.emails())} emails in all)")
            time.sleep(0.1)


    def wait_for_email(self, address: str, subject_part: str, *, timeout_s: float = 30) -> dict:
        """The first email to `address` whose subject holds `subject_part`, once it came, as
        {"subject": ..., "body": ...}."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [e for e in self.emails_to(address) if subject_part in e.get("subject", "")]
            if found:
                return {"subject": found[0]["subject"], "body": text_of(found[0])}
            if time.monotonic() > deadline:
                raise AssertionError(f"no email about “{subject_part}” reached {address} within {timeout_s} s "
                                     f"(the stand-in took {len(self.emails())} emails in all)")
            time.sleep(0.1)


class _MailSendHandler(BaseHTTPRequestHandler):
    server: SendGridStandIn

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.server.status if self.path == "/v3/mail/send" else 404
        body = json.loads(raw or b"null")
        with self.server.lock:
            for address in _recipients(body):
                if self.server.refuse_next.get(address, 0) > 0:
                    self.server.refuse_next[address] -= 1
                    status = 503
            self.server.requests.append({
                "method": self.command, "path": self.path, "authorization": self.headers.get("Authorization"),
                "body": body, "answered": status,
            })
        answer = b"" if status == 202 else json.dumps({"errors": [{"message": "stand-in says no"}]}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


def _recipients(email: dict | None) -> list[str]:
    return [to.get("email") for p in (email or {}).get("personalizations", []) for to in p.get("to", [])]


def text_of(email: dict) -> str:
    """The plain-text body of a recorded email."""
    return email["content"][0]["value"]
