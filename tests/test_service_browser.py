"""A reader's whole round trip in headless Chromium: subscribe, confirm, receive a week, unsubscribe.

The web side (public/, with the subscribe form `build` writes) is served on
one loopback port, `newsletter serve` (waitress) on another, and messages go
to the aiosmtpd sink of tests/smtp_sink.py. The footer's unsubscribe link
is an https URL on the publisher's domain; here, as a reverse proxy would,
its path and query are sent to the loopback service.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newsletter.delivery.db import connect
from newsletter.delivery.subscribers import SubscriberStore
from tests.delivery_helpers import sink
from tests.servicekit import free_port, make_project, served, wait_for_port
from tests.test_preview import CHROMIUM, CHROMIUM_ARGS

READER = "reader@example.org"
# Tuesday 2026-11-17 12:00 UTC: the last complete week is 2026-W46; a week later, 2026-W47.
FIRST_WEEK_EPOCH, SECOND_WEEK_EPOCH = "1794916800", "1795521600"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's chromium through Playwright; skip without them (fail in CI)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None  # type: ignore[assignment]
    if sync_playwright is None or not Path(CHROMIUM).exists():
        message = f"browser tests need the playwright package and {CHROMIUM}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _cli(project: Path, epoch: str, *args: str) -> str:
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    result = subprocess.run([sys.executable, "-m", "newsletter", *args, "-C", str(project)],
                            capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait_for(condition, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _messages_to(smtp, address: str) -> list[email.message.EmailMessage]:  # type: ignore[no-untyped-def]
    found = []
    for record in smtp.received():
        if address in record["rcpt"]:
            found.append(email.message_from_bytes(Path(record["file"]).read_bytes(), policy=policy.default))
    return found


@pytest.mark.browser
def test_subscribe_confirm_receive_unsubscribe_in_chromium(chromium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site_port, service_port = free_port(), free_port()
    with sink(tmp_path / "sink", store=True) as smtp:
        project = make_project(tmp_path / "proj", service_url=f"http://127.0.0.1:{service_port}/", smtp_port=smtp.port)
        settings = project / "newsletter.toml"
        text = settings.read_text().replace('url = "https://news.northbridge-care.example.org/"',
                                            f'url = "http://127.0.0.1:{site_port}/"', 1)  # fmt: skip
        settings.write_text(text)
        with connect(project) as db:
            SubscriberStore(db).add("other@example.org", status="subscribed", source="test")
        _cli(project, FIRST_WEEK_EPOCH, "build")
        assert (project / "public" / "subscribe" / "index.html").is_file()
        site = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(site_port), "--bind", "127.0.0.1", "--directory",
             str(project / "public")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(site_port, site)
            with served(project, port=service_port):
                context = chromium.new_context()
                page = context.new_page()
                # Subscribe through the site's form.
                page.goto(f"http://127.0.0.1:{site_port}/subscribe/")
                page.fill("#email", READER)
                page.fill("#name", "Rea Der")
                page.click("button[type=submit]")
                page.wait_for_selector("text=Check your inbox")
                # The confirmation message; its link leads to a page whose button confirms.
                [confirmation] = _wait_for(lambda: _messages_to(smtp, READER))
                link = re.search(r"http://\S+/confirm\?token=\S+", confirmation.get_content()).group(0)  # type: ignore[union-attr]
                page.goto(link)
                with connect(project) as db:
                    assert SubscriberStore(db).get(READER).status == "pending"  # type: ignore[union-attr]
                page.click("button[type=submit]")
                page.wait_for_selector("text=You are subscribed")
                # The week goes out: the new reader is among the recipients.
                _cli(project, FIRST_WEEK_EPOCH, "send")
                [digest] = [m for m in _messages_to(smtp, READER) if "digest-2026-W46" in str(m["Message-ID"])]
                html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
                footer = re.search(r'href="(https://[^"]+/unsubscribe\?[^"]+)"', html).group(1)  # type: ignore[union-attr]
                # The footer link, through the "proxy" to the service: a page with one button.
                query = urlsplit(footer.replace("&amp;", "&")).query
                page.goto(f"http://127.0.0.1:{service_port}/unsubscribe?{query}")
                with connect(project) as db:
                    assert SubscriberStore(db).get(READER).status == "subscribed"  # type: ignore[union-attr]
                page.click("button[type=submit]")
                page.wait_for_selector("text=You are unsubscribed")
                context.close()
        finally:
            site.terminate()
            site.wait(10)
        # The next week's send skips them.
        _cli(project, SECOND_WEEK_EPOCH, "build")
        before = len(smtp.received())
        _cli(project, SECOND_WEEK_EPOCH, "send")
        after = smtp.received()[before:]
        assert after, "the second week went to nobody"
        assert all(READER not in record["rcpt"] for record in after)
        assert any("other@example.org" in record["rcpt"] for record in after)
