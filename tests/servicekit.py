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


def make_project(target: Path, *, database: str = "", service_url: str = "", smtp_port: int = 0, extra: str = "") -> Path:
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
            raise AssertionError(f"the server exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


@contextmanager
def served(project: Path, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[int]:
    """``newsletter serve`` (waitress) for ``project`` in a subprocess on 127.0.0.1; yields its port."""
    port = port or free_port()
    environment = {**os.environ, **(env or {})}
    environment.pop("SOURCE_DATE_EPOCH", None)  # the real clock, as in production
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "serve", "-C", str(project), "--port", str(port)],
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
