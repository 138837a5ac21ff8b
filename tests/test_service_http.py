"""The subscription service served by waitress in a subprocess, spoken to in raw HTTP on 127.0.0.1.

RFC 8058 as a mail provider does it, double opt-in through a real SMTP sink
(tests/smtp_sink.py, aiosmtpd), request limits of the real server, and two
workers unsubscribing while ``send`` runs on the same database.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import dkim

from newsletter.config import load_settings
from newsletter.delivery.db import connect
from newsletter.delivery.subscribers import Subscriber, SubscriberStore
from newsletter.delivery.tokens import unsubscribe_link
from newsletter.errors import Problems
from tests.delivery_helpers import make_dkim_key, sink
from tests.servicekit import (  # noqa: F401 - backend_project is a fixture
    LIST_ID,
    SECRET,
    backend_project,
    make_project,
    one_click,
    raw_http,
    served,
    unsubscribe_storm,
    wait_until_sending,
)

BASE = "https://news.northbridge-care.example.org/unsubscribe"


def _store(project: Path) -> SubscriberStore:
    return SubscriberStore(connect(project, load_settings(project, Problems())))


def _query(address: str) -> str:
    return urlsplit(unsubscribe_link(BASE, SECRET.encode(), LIST_ID, address)).query


def test_rfc8058_one_click_over_raw_http(backend_project: Path) -> None:  # noqa: F811
    store = _store(backend_project)
    store.add("bob@example.org", status="subscribed")
    with served(backend_project) as port:
        # A GET (a link scanner, a preview) shows the button and changes nothing.
        status, headers, body = raw_http(port, f"GET /unsubscribe?{_query('bob@example.org')} HTTP/1.1\r\n"
                                               f"Host: x\r\nConnection: close\r\n\r\n".encode())  # fmt: skip
        assert status == 200 and b"<button" in body
        assert store.get("bob@example.org").status == "subscribed"  # type: ignore[union-attr]
        # A forged token changes nothing: a plain 400.
        forged = _query("bob@example.org")[:-3] + "AAA"
        status, headers, body = raw_http(port, one_click(port, forged))
        assert status == 400 and headers["content-type"].startswith("text/plain")
        assert store.get("bob@example.org").status == "subscribed"  # type: ignore[union-attr]
        # The provider's POST: no cookie, the one-click body; 200 at once, no redirect; twice is fine.
        for _ in range(2):
            status, headers, body = raw_http(port, one_click(port, _query("bob@example.org")))
            assert status == 200
            assert "location" not in headers and "set-cookie" not in headers
            assert headers["x-frame-options"] == "DENY"
            assert store.get("bob@example.org").status == "unsubscribed"  # type: ignore[union-attr]
        # multipart/form-data works as well (RFC 8058 allows either encoding).
        store.add("cy@example.org", status="subscribed")
        part = b'--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n'
        request = (
            f"POST /unsubscribe?{_query('cy@example.org')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(part)}\r\n\r\n"
        ).encode() + part
        assert raw_http(port, request)[0] == 200
        assert store.get("cy@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    store.db.close()


def test_the_real_server_bounds_requests(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    with served(project) as port:
        huge = (b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 50000000\r\nConnection: close\r\n\r\n") + b"email=" + b"a" * 20000  # fmt: skip
        assert raw_http(port, huge)[0] == 413
        chunks = b"".join(b"4000\r\n" + b"a" * 0x4000 + b"\r\n" for _ in range(4)) + b"0\r\n\r\n"
        chunked = (b"POST /subscribe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n") + chunks  # fmt: skip
        assert raw_http(port, chunked)[0] == 413
        status, headers, _ = raw_http(port, b"GET /subscribe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status == 200 and "frame-ancestors 'none'" in headers["content-security-policy"]


def test_double_opt_in_through_waitress_and_an_smtp_server(tmp_path: Path) -> None:
    with sink(tmp_path / "sink", store=True) as smtp:
        dkim_section = '\n[dkim]\ndomain = "northbridge-care.example.org"\nselector = "news"\nkey_file = "dkim.key"\n'
        project = make_project(tmp_path / "proj", smtp_port=smtp.port, extra=dkim_section)
        txt = make_dkim_key(project / "dkim.key")
        with served(project) as port:
            form = b"email=new%40example.org&name=New+Reader"
            request = (f"POST /subscribe HTTP/1.1\r\nHost: x\r\nOrigin: https://news.northbridge-care.example.org\r\n"
                       f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n"
                       f"Connection: close\r\n\r\n").encode() + form  # fmt: skip
            assert raw_http(port, request)[0] == 200
            assert raw_http(port, request)[0] == 200  # the same address again: no second message
            [record] = smtp.received()
            assert record["rcpt"] == ["new@example.org"]
            data = Path(record["file"]).read_bytes()
            assert dkim.verify(data, dnsfunc=lambda name, timeout=5: txt)  # signed as `send` signs
            message = email.message_from_bytes(data, policy=policy.default)
            assert str(message["To"]) == "New Reader <new@example.org>" and not message.defects
            link = re.search(r"https://\S+/confirm\?token=\S+", message.get_content()).group(0)  # type: ignore[union-attr]
            path = link.split("/", 3)[3]
            status, _, page = raw_http(port, f"GET /{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            assert status == 200 and _store(project).get("new@example.org").status == "pending"  # type: ignore[union-attr]
            token = re.search(rb'name="token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            body = b"token=" + token
            status, _, _ = raw_http(port, (f"POST /confirm HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                                           "Content-Type: application/x-www-form-urlencoded\r\n"
                                           "Connection: close\r\n\r\n").encode() + body)  # fmt: skip
            assert status == 200
            assert _store(project).get("new@example.org").status == "subscribed"  # type: ignore[union-attr]


def test_two_workers_and_a_send_lose_no_unsubscribe(backend_project: Path, tmp_path: Path) -> None:  # noqa: F811
    """The small version of bench/serve_load.py: every one-click POST recorded while `send` runs."""
    people = [f"reader{n}@example.org" for n in range(200)]
    settings = load_settings(backend_project, Problems())
    with connect(backend_project, settings) as db:
        SubscriberStore(db).add_many([Subscriber(a, f"Reader {n}") for n, a in enumerate(people)])
    with sink(tmp_path / "sink") as smtp:
        with (backend_project / "newsletter.toml").open("a") as handle:
            handle.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nrate = 1000\n')
        build = subprocess.run([sys.executable, "-m", "newsletter", "build", "-C", str(backend_project)],
                               capture_output=True, text=True, timeout=300)  # fmt: skip
        assert build.returncode == 0, build.stderr
        with served(backend_project) as first, served(backend_project) as second:
            send = subprocess.Popen([sys.executable, "-m", "newsletter", "send", "-C", str(backend_project)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
            wait_until_sending(smtp, send)
            leaving = people[::2]
            result = unsubscribe_storm([((first, second)[n % 2], _query(a)) for n, a in enumerate(leaving)], threads=8)
            out, err = send.communicate(timeout=300)
        assert send.returncode == 0, err
        assert result["errors"] == [] and result["statuses"] == {200: len(leaving)}
        store = _store(backend_project)
        assert {a: store.get(a).status for a in leaving} == {a: "unsubscribed" for a in leaving}  # type: ignore[union-attr]
        staying = [a for a in people if a not in leaving]
        assert all(store.get(a).status == "subscribed" for a in staying)  # type: ignore[union-attr]
        received = smtp.recipients()
        assert set(staying) <= set(received) and len(received) == len(set(received))  # nobody twice
        store.db.close()


def test_serve_without_a_secret_or_on_a_taken_port_says_why(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    (project / ".newsletter-secret").unlink()
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_SECRET"}
    result = subprocess.run([sys.executable, "-m", "newsletter", "serve", "-C", str(project), "--port", "1"],
                            capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert result.returncode == 1 and "no unsubscribe secret" in result.stderr and "Traceback" not in result.stderr
    (project / ".newsletter-secret").write_text(SECRET)
    (project / ".newsletter-secret").chmod(0o600)
    with served(project) as port:
        taken = subprocess.run([sys.executable, "-m", "newsletter", "serve", "-C", str(project), "--port", str(port)],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
    assert taken.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr
    assert "Traceback" not in taken.stderr


def test_behind_a_proxy_limits_count_the_forwarded_client(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")

    def subscribe(port: int, client: str) -> int:
        form = b"email=someone%40example.org"
        return raw_http(port, (f"POST /subscribe HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\n"
                               f"X-Forwarded-Proto: https\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                               f"Content-Length: {len(form)}\r\nConnection: close\r\n\r\n").encode() + form)[0]  # fmt: skip

    with served(project, args=("--proxy", "127.0.0.1")) as port:
        assert [subscribe(port, "192.0.2.1") for _ in range(11)][-1] == 429
        assert subscribe(port, "192.0.2.2") == 400  # another client: not limited (400: no CSRF token, no Origin)
        status, headers, _ = raw_http(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n"
                                            b"Connection: close\r\n\r\n")  # fmt: skip
        assert headers["strict-transport-security"].startswith("max-age=")
