"""Helpers for the subscription service's tests: projects, databases, a served process.

A project here is the sample project with a secret file, a ``[service]``
section and, for the PostgreSQL runs, a ``postgresql://`` database whose
``search_path`` is a schema of its own (so tests never see each other's rows).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parent.parent
SECRET = "bounce-fixture-secret-0123456789"
LIST_ID = "weekly.northbridge-care.example.org"
PG_URL = os.environ.get("NEWSLETTER_TEST_POSTGRES", "")
BACKENDS = ["sqlite", "postgresql"]


def require_postgres() -> str:
    """The scratch PostgreSQL URL; skip (locally) or fail (CI=true) without one."""
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("NEWSLETTER_TEST_POSTGRES is not set in CI")
        pytest.skip("PostgreSQL: set NEWSLETTER_TEST_POSTGRES=postgresql://... to a scratch database")
    return PG_URL


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the scratch server; yields a URL whose connections use it."""
    import psycopg

    url = require_postgres()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in url else "?"
    try:
        yield f"{url}{joiner}options={quote('-csearch_path=' + schema)}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def make_project(
    target: Path, *, database: str = "", service_url: str = "", smtp_port: int = 0, extra: str = ""
) -> Path:
    """The sample project in ``target`` with a 0600 secret and the service's settings."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "newsletter.toml", target / "newsletter.toml")
    shutil.copytree(REPO / "posts", target / "posts")
    secret = target / ".newsletter-secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    text = (target / "newsletter.toml").read_text()
    text += f'\n[service]\nurl = "{service_url or "https://news.northbridge-care.example.org/"}"\n'
    if database:
        text += f'\n[subscribers]\ndatabase = "{database}"\n'
    if smtp_port:
        text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
    (target / "newsletter.toml").write_text(text + extra)
    return target


@pytest.fixture(params=BACKENDS)
def backend_project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A project on SQLite, then the same on PostgreSQL."""
    if request.param == "sqlite":
        yield make_project(tmp_path / "proj")
        return
    with postgres_schema() as url:
        yield make_project(tmp_path / "proj", database=url)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 20.0) -> None:
    """Wait until something listens on ``port`` (fail when ``process`` dies first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"the server exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


@contextmanager
def served(project: Path, port: int | None = None, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
           ) -> Iterator[int]:  # fmt: skip
    """``newsletter serve`` (waitress) for ``project`` in a subprocess on 127.0.0.1; yields its port."""
    port = port or free_port()
    environment = {**os.environ, **(env or {})}
    environment.pop("SOURCE_DATE_EPOCH", None)  # the real clock, as in production
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "serve", "-C", str(project), "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
    )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def raw_http(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` bytes as they are to 127.0.0.1:``port``; the status, headers (lower-case) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        data = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def one_click(port: int, query: str, body: bytes = b"List-Unsubscribe=One-Click") -> bytes:
    """The request a mail provider makes for RFC 8058: POST, no cookie, the one-click body."""
    return (
        f"POST /unsubscribe?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: mail-provider/1.0\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def unsubscribe_storm(targets: list[tuple[int, str]], threads: int = 8, deadline: float = 120.0) -> dict[str, Any]:
    """POST one-click unsubscribes to ``(port, query)`` targets from ``threads`` keep-alive clients.

    Bounded: every target once, and nothing after ``deadline`` seconds.
    Returns the status counts, the errors, the latencies (s) and the wall time.
    """
    import http.client
    import queue
    import threading

    work: queue.Queue[tuple[int, str]] = queue.Queue()
    for target in targets:
        work.put(target)
    statuses: dict[int, int] = {}
    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline

    def client() -> None:
        connections: dict[int, http.client.HTTPConnection] = {}
        while time.monotonic() < stop_at:
            try:
                port, query = work.get_nowait()
            except queue.Empty:
                break
            conn = connections.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connections[port] = conn
            started = time.perf_counter()
            try:
                conn.request("POST", f"/unsubscribe?{query}", body=b"List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
                response = conn.getresponse()
                response.read()
                took = time.perf_counter() - started
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    latencies.append(took)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                connections.pop(port, None)
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
        for conn in connections.values():
            conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"statuses": statuses, "errors": errors, "latencies": latencies, "seconds": time.perf_counter() - started}


def wait_until_sending(smtp: object, send: subprocess.Popen[str], timeout: float = 120.0) -> None:
    """Wait for `send`'s first message at the sink, so that the load meets a send in full swing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and send.poll() is None and not smtp.received():  # type: ignore[attr-defined]
        time.sleep(0.05)
