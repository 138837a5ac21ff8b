"""The subscription service as a WSGI application (werkzeug's test client), on SQLite and PostgreSQL.

Confirmation messages go to an in-memory outbox here (the application takes
any ``deliver`` callable, as Django's locmem mail backend); the tests with a
real SMTP server and a real waitress server are in test_service_http.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client, EnvironBuilder, TestResponse

from newsletter.delivery.db import connect
from newsletter.delivery.subscribers import SubscriberStore
from newsletter.delivery.tokens import make_token, unsubscribe_link
from newsletter.service import create_app
from newsletter.service.guard import Signer
from tests.servicekit import LIST_ID, SECRET, backend_project, make_project  # noqa: F401 - a fixture

SITE = "https://news.northbridge-care.example.org"


class Service:
    """The application, its client, and what it sent."""

    def __init__(self, project: Path) -> None:
        self.app = create_app(project)
        self.sent: list[EmailMessage] = []
        self.app.deliver = self.sent.append
        self.client = Client(self.app)
        self.responses: list[TestResponse] = []

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.open(path, method=method, **kwargs)
        self.responses.append(response)
        return response

    def form(self) -> dict[str, str]:
        page = self.request("GET", "/subscribe").text
        return {"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1)}  # type: ignore[union-attr]

    def subscribe(self, email: str, name: str = "", **extra: str) -> TestResponse:
        return self.request("POST", "/subscribe", data={**self.form(), "email": email, "name": name, **extra})

    def status(self, email: str) -> str | None:
        with connect(self.app.root, self.app.settings) as db:
            row = SubscriberStore(db).get(email)
        return row.status if row else None

    def add(self, email: str, status: str) -> None:
        with connect(self.app.root, self.app.settings) as db:
            SubscriberStore(db).add(email, status=status, source="test")

    def link(self, message: EmailMessage) -> str:
        body = message.get_content()
        return re.search(r"https?://\S+/confirm\?token=\S+", body).group(0)  # type: ignore[union-attr]


@pytest.fixture
def service(backend_project: Path) -> Iterator[Service]:  # noqa: F811
    service = Service(backend_project)
    yield service
    for response in service.responses:  # on every page: no framing, no scripts, no redirect anywhere
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Location" not in response.headers
        assert "Set-Cookie" not in response.headers


def _query(link: str) -> str:
    return link.split("?", 1)[1]


def test_double_opt_in(service: Service) -> None:
    page = service.subscribe("Ann@Example.org", "Ann Example")
    assert page.status_code == 200 and "Check your inbox" in page.text
    assert service.status("ann@example.org") == "pending"
    [message] = service.sent
    assert message["To"] == "Ann Example <ann@example.org>"
    link = service.link(message)
    assert link.startswith(SITE + "/confirm?token=")
    # The same address again within the hour: no second message.
    assert service.subscribe("ann@example.org").status_code == 200
    assert len(service.sent) == 1
    # GET shows a button and changes nothing (scanners open every link).
    page = service.request("GET", "/confirm?" + _query(link))
    assert page.status_code == 200 and 'method="post"' in page.text and "<button" in page.text
    assert service.status("ann@example.org") == "pending"
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = service.request("POST", "/confirm", data={"token": token})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert service.status("ann@example.org") == "subscribed"


def test_no_page_says_whether_an_address_is_subscribed(service: Service) -> None:
    service.add("sub@example.org", "subscribed")
    service.add("gone@example.org", "unsubscribed")
    pages = {a: service.subscribe(a).data for a in ("new@example.org", "sub@example.org", "gone@example.org")}
    assert len(set(pages.values())) == 1
    assert service.status("gone@example.org") == "unsubscribed"  # only the confirmation brings it back
    assert service.status("sub@example.org") == "subscribed"
    assert sorted(m["To"].addresses[0].addr_spec for m in service.sent) == ["gone@example.org", "new@example.org"]


def test_an_unsubscribed_address_comes_back_only_by_confirming(service: Service) -> None:
    service.subscribe("ann@example.org")
    old_link = service.link(service.sent[0])
    service.request("POST", "/confirm", data={"token": _query(old_link).split("=", 1)[1]})
    assert service.status("ann@example.org") == "subscribed"
    unsubscribe = "/unsubscribe?" + _query(
        unsubscribe_link(SITE + "/unsubscribe", SECRET.encode(), LIST_ID, "ann@example.org")
    )
    service.request("POST", unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert service.status("ann@example.org") == "unsubscribed"
    # The old link, clicked after leaving, does not bring the address back.
    assert service.request("POST", "/confirm", data={"token": _query(old_link).split("=", 1)[1]}).status_code == 400
    assert service.status("ann@example.org") == "unsubscribed"


def test_one_click_unsubscribe(service: Service) -> None:
    service.add("bob@example.org", "subscribed")
    path = "/unsubscribe?" + _query(
        unsubscribe_link(SITE + "/unsubscribe", SECRET.encode(), LIST_ID, "bob@example.org")
    )
    page = service.request("GET", path)
    assert page.status_code == 200 and page.text.count("<button") == 1 and 'method="post"' in page.text
    assert service.status("bob@example.org") == "subscribed"
    for _ in range(2):  # idempotent
        done = service.request("POST", path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200
        assert service.status("bob@example.org") == "unsubscribed"
    # Not on the list at all: suppressed from now on, and the same answer.
    stranger = "/unsubscribe?" + _query(
        unsubscribe_link(SITE + "/unsubscribe", SECRET.encode(), LIST_ID, "new@example.org")
    )
    assert service.request("POST", stranger, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert service.status("new@example.org") == "unsubscribed"


@pytest.mark.parametrize(
    "token",
    [
        make_token(SECRET.encode(), "other-list.example.org", "bob@example.org"),  # another list's token
        make_token(SECRET.encode(), LIST_ID, "eve@example.org"),  # another address's token
        make_token(b"another-secret-of-32-characters!", LIST_ID, "bob@example.org"),
        "x" * 43,
        "' OR '1'='1",
        "",
    ],
)
def test_a_forged_or_foreign_token_changes_nothing(service: Service, token: str) -> None:
    service.add("bob@example.org", "subscribed")
    for method in ("GET", "POST"):
        response = service.request(
            method, "/unsubscribe", query_string={"email": "bob@example.org", "token": token},
            data={"List-Unsubscribe": "One-Click"} if method == "POST" else None,
        )  # fmt: skip
        assert response.status_code == 400
        assert response.mimetype == "text/plain"
    assert service.status("bob@example.org") == "subscribed"


def test_confirmation_tokens_of_another_list_or_forged_are_refused(service: Service) -> None:
    foreign = Signer(SECRET.encode(), "other-list.example.org").confirmation_token("ann@example.org", "")
    for token in (foreign, foreign[:-2] + "xx", "garbage"):
        assert service.request("GET", "/confirm", query_string={"token": token}).status_code == 400
        assert service.request("POST", "/confirm", data={"token": token}).status_code == 400
    assert service.status("ann@example.org") is None


def test_the_body_must_say_one_click(service: Service) -> None:
    service.add("bob@example.org", "subscribed")
    path = "/unsubscribe?" + _query(
        unsubscribe_link(SITE + "/unsubscribe", SECRET.encode(), LIST_ID, "bob@example.org")
    )
    assert service.request("POST", path, data={"List-Unsubscribe": "yes"}).status_code == 400
    assert service.status("bob@example.org") == "subscribed"


def test_csrf_token_or_our_own_origin(service: Service) -> None:
    # No token and no Origin (a script elsewhere, curl): the form again, nothing stored, nothing sent.
    page = service.request("POST", "/subscribe", data={"email": "ann@example.org"})
    assert page.status_code == 400 and 'name="csrf"' in page.text
    page = service.request("POST", "/subscribe", data={"email": "ann@example.org", "csrf": "forged"},
                           headers={"Origin": "https://evil.example"})  # fmt: skip
    assert page.status_code == 400
    assert service.status("ann@example.org") is None and not service.sent
    # The static form of the site (public/subscribe/) posts with the site's Origin.
    page = service.request("POST", "/subscribe", data={"email": "ann@example.org"}, headers={"Origin": SITE})
    assert page.status_code == 200 and service.status("ann@example.org") == "pending"


def test_the_honeypot_catches_bots_quietly(service: Service) -> None:
    page = service.subscribe("bot@example.org", website="https://spam.example")
    assert page.status_code == 200 and "Check your inbox" in page.text
    assert service.status("bot@example.org") is None and not service.sent


def test_header_injection_through_the_name_is_refused(service: Service) -> None:
    for name in ("Eve\r\nBcc: victim@example.org", "Eve\nSubject: hi", "Eve\u2028x", "a\x00b"):
        page = service.subscribe("eve@example.org", name)
        assert page.status_code == 400 and "check the name" in page.text
    assert not service.sent and service.status("eve@example.org") is None


def test_sql_metacharacters_are_only_data(service: Service) -> None:
    name = "Robert'); DROP TABLE subscribers;--"
    assert service.subscribe("o'brien+x@example.org", name).status_code == 200
    with connect(service.app.root, service.app.settings) as db:
        row = SubscriberStore(db).get("o'brien+x@example.org")
        assert row is not None and row.name == name
        assert db.fetchone("SELECT COUNT(*) FROM subscribers")[0] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    "email", ["not-an-address", "a@b", "<script>@example.org", "x" * 400 + "@example.org", "ann@exa mple.org"]
)
def test_bad_addresses_get_the_form_back_escaped(service: Service, email: str) -> None:
    page = service.subscribe(email)
    assert page.status_code == 400 and "check the e-mail address" in page.text
    assert "<script>" not in page.text
    assert not service.sent


def test_hostile_requests(service: Service) -> None:
    big = service.request("POST", "/subscribe", data={"email": "a@example.org", "name": "x" * 100_000})
    assert big.status_code == 413
    raw = service.request(
        "POST", "/subscribe", data=b"email=\xff\xfe%ff%fe@example.org&name=\xc3\x28",
        content_type="application/x-www-form-urlencoded", headers={"Origin": SITE},
    )  # fmt: skip
    assert raw.status_code == 400
    for query in ("email=%ff%fe&token=%zz", "email=a%40example.org&token=%C3%28", "email=" + "%00" * 50 + "&token=x"):
        assert service.request("POST", f"/unsubscribe?{query}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert service.request("PUT", "/unsubscribe").status_code == 405
    assert service.request("GET", "/../../etc/passwd").status_code == 404
    assert service.request("GET", "/subscribe?email=%3Cscript%3Ealert(1)%3C/script%3E").text.count("<script>") == 0
    assert not service.sent


def test_ten_thousand_forms_from_one_client_are_rate_limited(tmp_path: Path) -> None:
    service = Service(make_project(tmp_path / "proj"))
    form = service.form()
    codes: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        codes[status[:3]] = codes.get(status[:3], 0) + 1

    for number in range(10_000):  # straight into the WSGI callable: the test client's own cost would dominate
        body = f"csrf={form['csrf']}&email=flood{number}%40example.org".encode()
        environ = EnvironBuilder(path="/subscribe", method="POST", data=body, environ_base={"REMOTE_ADDR": "192.0.2.9"},
                                 content_type="application/x-www-form-urlencoded").get_environ()  # fmt: skip
        b"".join(service.app(environ, start_response))
    assert codes == {"200": 10, "429": 9_990}
    assert len(service.sent) == 10
    # Another client is not held back by the flood.
    other = service.client.post("/subscribe", data={**form, "email": "ann@example.org"},
                                environ_base={"REMOTE_ADDR": "198.51.100.1"})  # fmt: skip
    assert other.status_code == 200
    # Nor does one address get more than a few requests an hour, from however many clients.
    for number in range(10):
        service.client.post("/subscribe", data={**form, "email": "target@example.org"},
                            environ_base={"REMOTE_ADDR": f"203.0.113.{number}"})  # fmt: skip
    assert sum(1 for m in service.sent if "target@example.org" in str(m["To"])) == 1


def test_guessing_tokens_gets_a_client_slowed_down(tmp_path: Path) -> None:
    service = Service(make_project(tmp_path / "proj"))
    codes = [
        service.client.get("/unsubscribe", query_string={"email": "a@example.org", "token": f"guess{n}"}).status_code
        for n in range(40)
    ]
    assert codes[:30] == [400] * 30 and set(codes[30:]) == {429}


def test_health_and_style(service: Service) -> None:
    assert service.request("GET", "/health").text == "ok\n"
    css = service.request("GET", "/style.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_a_lost_postgresql_connection_is_made_again(tmp_path: Path) -> None:
    """A database restart costs one 503, not every later request of that thread."""
    import uuid

    import psycopg

    from tests.servicekit import postgres_schema

    name = "serve-" + uuid.uuid4().hex[:8]
    with postgres_schema() as url:
        service = Service(make_project(tmp_path / "proj", database=f"{url}&application_name={name}"))
        assert service.client.get("/health").status_code == 200
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,))
        assert service.client.get("/health").status_code == 503
        assert service.client.get("/health").status_code == 200
