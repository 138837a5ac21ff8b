"""`newsletter preview`: the server over HTTP, its safety rules, live reload, and Chromium.

One preview server per module, on a copy of the sample project. Browser
tests (marked ``browser``) use Playwright with Debian's chromium; they skip
when either is missing, unless CI is set, where they must run.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_EPOCH, write_post
from test_crash import mark_sent

from newsletter.errors import NewsletterError
from newsletter.preview import Preview
from newsletter.preview.frames import force_scheme
from newsletter.preview.pages import render_index, render_message
from newsletter.preview.server import bind, split_path
from newsletter.preview.state import PreviewState, describe_weeks
from newsletter.preview.watch import is_input

WEEK = "2026-W47"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWS = ("", "text", "headers", "source", "checks")
MS_POST = "posts/2026-11-18-neural-progenitors-derived-from-bone-mesenchymal-stem-cells-help-multiple.md"


def _copy_sample(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", folder / "newsletter.toml")
    shutil.copytree(REPO / "posts", folder / "posts")
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Preview, str]]:
    """A preview of a sample copy, serving in a thread: (preview, base URL without the final /)."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = SAMPLE_EPOCH
    root = _copy_sample(tmp_path_factory.mktemp("preview") / "sample")
    preview = Preview(root, week=WEEK, log=lambda text: None)
    url = preview.start(port=0)
    try:
        yield preview, url.rstrip("/")
    finally:
        preview.close()
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request, errors included."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# ---------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("raw", "segments"),
    [
        ("/", [""]),
        ("/message/2026-W47/", ["message", "2026-W47", ""]),
        ("/message/2026-W47/text?x=1", ["message", "2026-W47", "text"]),
        ("/public/a%20b.html", ["public", "a b.html"]),
        ("/../newsletter.toml", None),
        ("/%2e%2e/x", None),
        ("/%2E%2E/x", None),
        ("/public/%2e%2e%2fnewsletter.toml", None),
        ("//etc/passwd", None),
        ("/public//etc/passwd", None),
        ("/public/.", None),
        ("/public/..", None),
        ("/public/a%5c..%5cb", None),
        ("/public/a%00b", None),
        ("http://evil.example/", None),
        ("etc/passwd", None),
    ],
)
def test_split_path(raw: str, segments: list[str] | None) -> None:
    assert split_path(raw) == segments


@pytest.mark.parametrize(
    ("path", "watched"),
    [
        ("posts/a.md", True),
        ("posts/images/x.png", True),
        ("templates/email/digest.html", True),
        ("newsletter.toml", True),
        ("posts/guides/b.md", True),
        ("posts/guides", True),  # a folder of posts made
        ("posts/old-guides", True),  # ... or moved away
        ("posts/notes", False),
        ("posts/files/handout.pdf", True),
        ("templates/site/base.css", True),
        ("posts/.a.md.swp", False),
        ("posts/a.md.swp", False),
        ("posts/a.md~", False),
        ("posts/sedtshahL", False),  # GNU sed -i
        ("posts/4913", False),  # vim's write test
        ("posts/.#a.md", False),  # emacs lock
        ("posts/#a.md#", False),  # emacs autosave
        ("posts/a.md___jb_tmp___", False),  # JetBrains
        ("posts/a.md.tmp", False),
        ("posts/.DS_Store", False),
        ("posts/.git/x.md", False),
        ("templates/sedAb12Cd", False),
        ("templates/.digest.html.swp", False),
        ("templates/digest.html~", False),
        ("newsletter.toml~", False),
        ("public/index.html", False),
        ("outbox/2026-W47/meta.json", False),
        ("README.md", False),
    ],
)
def test_only_inputs_trigger_rebuilds(tmp_path: Path, path: str, watched: bool) -> None:
    (tmp_path / "posts" / "guides").mkdir(parents=True)
    (tmp_path / "posts" / "notes").write_text("a file without an extension")
    assert is_input(tmp_path, str(tmp_path / path)) is watched


def test_force_scheme_rewrites_the_messages_own_media_queries() -> None:
    html = (
        '<html><head><meta name="color-scheme" content="light dark"><style>'
        "@media (prefers-color-scheme: dark){body{color:#fff}} "
        "@media screen and (prefers-color-scheme:light){body{color:#000}}</style></head><body></body></html>"
    )
    dark = force_scheme(html, "dark")
    assert "@media (min-width:0px){body{color:#fff}}" in dark
    assert "@media screen and (min-width:99999px){body{color:#000}}" in dark
    assert '<meta name="color-scheme" content="dark">' in dark
    assert dark.index(":root{color-scheme:dark !important}") < dark.index("</head>")
    light = force_scheme(html, "light")
    assert "@media (min-width:99999px){body{color:#fff}}" in light


THIS_WEEK = "2026-W48"
DRAFT_POST = """---
title: {title}
date: 2026-11-23 10:00
categories: [Neurology]
---
Written this week: the preview shows it while it is being written.
"""


def test_each_rebuild_renders_last_week_and_this_weeks_draft(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import newsletter.build

    calls: list[dict[str, object]] = []
    real_build = newsletter.build.build

    def counting_build(root: Path, **options: object):  # type: ignore[no-untyped-def]
        calls.append(options)
        return real_build(root, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(newsletter.build, "build", counting_build)
    state = PreviewState(sample, log=lambda text: None)  # plain `newsletter preview`: --week last
    state.rebuild()
    # the same build() twice: this week's draft (digest only), then the whole build of last week
    assert calls == [{"week": "this", "feeds": False, "site": False}, {"week": "last"}]
    assert describe_weeks(state.status.weeks) == (
        f"Rebuilding {WEEK} (last week) on every change; {THIS_WEEK} (this week) has no published posts yet."
    )
    assert not (sample / "outbox" / THIS_WEEK).exists()

    post = write_post(sample, "2026-11-23-this-week.md", DRAFT_POST.format(title="A Post Written This Week"))
    state.rebuild("changed: posts/2026-11-23-this-week.md")
    draft = sample / "outbox" / THIS_WEEK / "message.html"
    assert "A Post Written This Week" in draft.read_text(encoding="utf-8")
    post.write_text(DRAFT_POST.format(title="Edited While Writing"), encoding="utf-8")
    state.rebuild("changed: posts/2026-11-23-this-week.md")
    assert "Edited While Writing" in draft.read_text(encoding="utf-8")
    # the whole build comes second, so the draft's web version is current too
    assert (sample / "public" / "digests" / f"{THIS_WEEK}.html").read_bytes() == draft.read_bytes()
    assert (sample / "outbox" / WEEK / "meta.json").is_file()

    line = f"Rebuilding {WEEK} (last week) and {THIS_WEEK} (this week) on every change."
    index = render_index(state)
    assert line in index
    assert f'href="/message/{WEEK}/"' in index and f'href="/message/{THIS_WEEK}/"' in index
    assert "this week, rebuilt on every change" in index and "last week, rebuilt on every change" in index
    assert state.status.notes == ()


def test_preview_of_this_week_builds_it_once(sample: Path) -> None:
    write_post(sample, "2026-11-23-this-week.md", DRAFT_POST.format(title="A Post Written This Week"))
    state = PreviewState(sample, week="this", log=lambda text: None)
    state.rebuild()
    assert describe_weeks(state.status.weeks) == f"Rebuilding {THIS_WEEK} (this week) on every change."


def test_a_bad_week_writes_nothing(sample: Path) -> None:
    from newsletter.errors import UsageError

    write_post(sample, "2026-11-23-this-week.md", DRAFT_POST.format(title="A Post Written This Week"))
    with pytest.raises(UsageError):
        PreviewState(sample, week="2026-W99", log=lambda text: None).rebuild()
    assert not (sample / "outbox").exists()


def test_a_sent_week_is_a_quiet_status_not_an_error(sample: Path) -> None:
    state = PreviewState(sample, log=lambda text: None)
    state.rebuild()
    mark_sent(sample, WEEK)
    state.rebuild()
    assert state.status.ok and state.status.errors == () and state.status.notes == ()
    assert describe_weeks(state.status.weeks) == (
        f"No message to rebuild; {WEEK} (last week) was sent and is left as it is; "
        f"{THIS_WEEK} (this week) has no published posts yet."
    )
    entry = state.message(WEEK)
    assert entry is not None
    for page in (render_index(state), render_message(state, entry, ""), render_message(state, entry, "checks")):
        assert "was sent already" not in page
        assert 'id="build-errors"' not in page and 'role="alert"' not in page and 'class="note"' not in page
    index = render_index(state)
    assert '<span class="pill sent">sent</span>' in index
    assert "left as it is: rebuilds never touch a sent message" in index


def test_an_explicit_port_in_use_is_an_error(served: tuple[Preview, str]) -> None:
    preview, url = served
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(NewsletterError, match=f"127.0.0.1:{port}"):
        bind(preview.state, port)


def test_port_zero_takes_8025_or_the_next_free_one(served: tuple[Preview, str]) -> None:
    preview, _url = served
    with contextlib.closing(socket.socket()) as blocker:
        with contextlib.suppress(OSError):
            blocker.bind(("127.0.0.1", 8025))
            blocker.listen()
        server = bind(preview.state, 0)
        try:
            assert server.server_address[0] == "127.0.0.1"
            assert 8025 < server.port < 8025 + 50
        finally:
            server.server_close()


# ---------------------------------------------------------------- HTTP


def test_index_lists_the_week_and_the_feeds(served: tuple[Preview, str]) -> None:
    _preview, url = served
    status, headers, body = fetch(url + "/")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f'href="/message/{WEEK}/"' in text and "Northbridge Regenerative Care · November 16 – 22, 2026" in text
    assert 'href="/public/feed.xml"' in text and 'href="/public/feed.json"' in text
    assert "no problems" in text


@pytest.mark.parametrize("view", VIEWS)
def test_each_message_view_answers(served: tuple[Preview, str], view: str) -> None:
    _preview, url = served
    status, _headers, body = fetch(f"{url}/message/{WEEK}/{view}")
    assert status == 200
    text = body.decode()
    expected = {
        "": f'src="/message/{WEEK}/frame/dark"',
        "text": "View this email in your browser",
        "headers": "List-Unsubscribe-Post",
        "source": "Content-Type: multipart/alternative",
        "checks": "Client support",
    }[view]
    assert expected in text


def test_frames_and_files(served: tuple[Preview, str]) -> None:
    _preview, url = served
    status, headers, body = fetch(f"{url}/message/{WEEK}/frame/dark")
    assert status == 200 and b'content="dark"' in body
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no scripts at all
    status, headers, body = fetch(f"{url}/outbox/{WEEK}/message.eml")
    assert status == 200 and body.startswith(b"From: ") and headers["Content-Type"].startswith("text/plain")
    for path in ("/public/", "/public/posts/", "/public/feed.xml", "/public/digests/2026-W47.html"):
        assert fetch(url + path)[0] == 200, path
    assert fetch(f"{url}/message/{WEEK}")[0] == 200  # redirected to the folder
    assert fetch(f"{url}/message/2026-W01/")[0] == 404


def test_head_gives_no_body_and_other_methods_405(served: tuple[Preview, str]) -> None:
    _preview, url = served
    status, headers, body = fetch(url + "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"):
        status, headers, _body = fetch(url + "/", method=method)
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/../newsletter.toml",
        "/%2e%2e/x",
        "/%2e%2e/newsletter.toml",
        "//etc/passwd",
        "/public/../newsletter.toml",
        "/public/%2e%2e/newsletter.toml",
        "/public/..%2fnewsletter.toml",
        "/outbox/2026-W47/../../newsletter.toml",
        "/newsletter.toml",
        "/posts/",
        "/outbox/",
        "/outbox/2026-W47/",
        "/_preview/../server.py",
        "/public/%2fetc%2fpasswd",
    ],
)
def test_nothing_outside_is_served(served: tuple[Preview, str], path: str) -> None:
    _preview, url = served
    status, _headers, body = fetch(url + path)
    assert status == 404, path
    assert b"root:" not in body and b"[site]" not in body


def test_symlinks_that_leave_the_folder_are_refused(served: tuple[Preview, str]) -> None:
    preview, url = served
    root = preview.state.root
    week = root / "outbox" / WEEK
    made = [week / "passwd", root / "public" / "passwd", root / "outbox" / "2026-W02"]
    evil = root / "outbox" / "2026-W01"
    evil.mkdir()
    try:
        (week / "passwd").symlink_to("/etc/passwd")
        (root / "public" / "passwd").symlink_to("/etc/passwd")
        (root / "outbox" / "2026-W02").symlink_to("/etc")
        shutil.copy(week / "meta.json", evil / "meta.json")
        shutil.copy(week / "message.eml", evil / "message.eml")
        (evil / "message.txt").symlink_to("/etc/passwd")
        for path in (
            f"/outbox/{WEEK}/passwd",
            "/public/passwd",
            "/message/2026-W02/",
            "/outbox/2026-W02/passwd",
            "/outbox/2026-W01/message.txt",
            "/message/2026-W01/text",
        ):
            status, _headers, body = fetch(url + path)
            assert status == 404, path
            assert b"root:" not in body
        assert b"2026-W01" not in fetch(url + "/")[2]
    finally:
        shutil.rmtree(evil)
        for link in made:
            link.unlink(missing_ok=True)


def test_another_host_name_is_refused(served: tuple[Preview, str]) -> None:
    _preview, url = served
    assert fetch(url + "/", headers={"Host": "attacker.example"})[0] == 403


def test_events_announce_building_and_reload(served: tuple[Preview, str]) -> None:
    preview, url = served
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/events")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    generation = preview.state.status.generation

    def next_event() -> tuple[str, str]:
        fields: dict[str, str] = {}
        while True:
            line = response.readline().decode().rstrip("\n")
            if not line and "event" in fields:
                return fields["event"], fields["data"]
            if ":" in line and not line.startswith(":"):
                name, value = line.split(":", 1)
                fields[name] = value.strip()

    assert next_event() == ("hello", str(generation))
    preview.state.rebuild("test")
    assert next_event() == ("building", str(generation))
    assert next_event() == ("reload", str(generation + 1))
    conn.close()


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    root = _copy_sample(tmp_path / "sample")
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "preview", "-C", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - tests only
    )
    try:
        line = ""
        while "Serving" not in line:
            line = process.stdout.readline()  # type: ignore[union-attr]
            assert line, process.stderr.read()  # type: ignore[union-attr]
        assert "http://127.0.0.1:" in line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "stopped" in out


# ---------------------------------------------------------------- Chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian chromium through Playwright; skip without them (fail in CI)."""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package")
    if not Path(CHROMIUM).exists():
        missing.append(CHROMIUM)
    if missing:
        message = f"browser tests need {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_browser_index_lists_the_week(page, served) -> None:  # type: ignore[no-untyped-def]
    _preview, url = served
    page.goto(url + "/")
    link = page.get_by_role("link", name=WEEK)
    link.wait_for(timeout=5000)
    link.click()
    page.wait_for_url(f"{url}/message/{WEEK}/")


@pytest.mark.browser
def test_browser_every_view_loads_and_dark_mode_applies(page, served) -> None:  # type: ignore[no-untyped-def]
    _preview, url = served
    for view in VIEWS:
        response = page.goto(f"{url}/message/{WEEK}/{view}")
        assert response.status == 200, view
        assert page.locator("nav.tabs a.current").count() == 1
    page.goto(f"{url}/message/{WEEK}/")
    assert page.locator("iframe.message-frame").count() == 4
    backgrounds = {}
    for frame_id in ("frame-light-desktop", "frame-dark-desktop", "frame-dark-phone"):
        frame = page.frame_locator(f"#{frame_id}")
        frame.locator("h1").wait_for(timeout=5000)
        backgrounds[frame_id] = frame.locator(".card").evaluate("e => getComputedStyle(e).backgroundColor")
        width = frame.locator("body").evaluate("e => e.ownerDocument.documentElement.clientWidth")
        assert width == (375 if "phone" in frame_id else 700)
    assert page.locator(".fit-toggle:visible").count() == 0  # everything fits at 1280 px
    assert backgrounds["frame-light-desktop"] == "rgb(255, 255, 255)"
    assert backgrounds["frame-dark-desktop"] == backgrounds["frame-dark-phone"] == "rgb(26, 34, 39)"  # #1a2227


@pytest.mark.browser
def test_browser_narrow_screen_cuts_no_frame_off(browser, served) -> None:  # type: ignore[no-untyped-def]
    _preview, url = served
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{url}/message/{WEEK}/")
        page.frame_locator("#frame-light-desktop").locator("h1").wait_for(timeout=5000)
        assert page.evaluate("document.documentElement.scrollWidth") == 375
        boxes = {}
        for frame_id in ("frame-light-desktop", "frame-light-phone", "frame-dark-desktop", "frame-dark-phone"):
            boxes[frame_id] = box = page.locator(f"#{frame_id}").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375.5, (frame_id, box)
        assert boxes["frame-light-phone"]["y"] < boxes["frame-light-desktop"]["y"]  # stacked, phone first
        # shrunk to fit, the desktop frame still lays the message out 700 px wide
        desktop = page.frame_locator("#frame-light-desktop").locator("body")
        assert desktop.evaluate("e => e.ownerDocument.documentElement.clientWidth") == 700
        caption = page.locator(".device.desktop figcaption").first
        assert "shown at 53%" in caption.inner_text()
        caption.get_by_role("button", name="Actual size").click()
        # at actual size it scrolls sideways inside its own box; the page itself does not
        assert "scroll sideways" in caption.inner_text()
        scroller = page.locator(".device.desktop .frame-box").first
        assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")
        assert scroller.evaluate("e => (e.scrollLeft = e.scrollWidth, e.scrollLeft)") > 300
        assert page.evaluate("document.documentElement.scrollWidth") == 375
        caption.get_by_role("button", name="Fit to screen").click()
        assert "shown at 53%" in caption.inner_text()
    finally:
        context.close()


def _edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


@pytest.mark.browser
def test_browser_reloads_after_an_edit(page, served) -> None:  # type: ignore[no-untyped-def]
    preview, url = served
    post = preview.state.root / MS_POST
    page.goto(f"{url}/message/{WEEK}/")
    frame = page.frame_locator("#frame-light-desktop")
    frame.locator("h1").wait_for(timeout=5000)
    start = time.perf_counter()
    _edit(post, "title: Neural Progenitors", "title: Live Reload Works and Neural Progenitors")
    try:
        frame.locator("h2 a", has_text="Live Reload Works and Neural Progenitors").wait_for(timeout=5000)
        latency = time.perf_counter() - start
        print(f"\nedit-to-reload latency in Chromium: {latency:.2f} s")
        assert latency < 3.0
    finally:
        _edit(post, "title: Live Reload Works and Neural Progenitors", "title: Neural Progenitors")
    frame.locator("h2 a", has_text="Live Reload Works").wait_for(state="detached", timeout=5000)


@pytest.mark.browser
def test_browser_shows_build_errors_and_keeps_the_last_good_build(page, served) -> None:  # type: ignore[no-untyped-def]
    preview, url = served
    broken = preview.state.root / "posts" / "zz-broken.md"
    page.goto(f"{url}/message/{WEEK}/")
    page.frame_locator("#frame-light-desktop").locator("h1").wait_for(timeout=5000)
    broken.write_text("---\ndate: 2026-11-19\n---\nNo title above.\n", encoding="utf-8")
    try:
        banner = page.locator("#build-errors")
        banner.get_by_text("posts/zz-broken.md:2: missing title").wait_for(timeout=5000)
        # the last good build is still there, on this page and on the others
        page.frame_locator("#frame-light-desktop").get_by_text("Neural Progenitors Derived").first.wait_for(
            timeout=5000
        )
        page.goto(url + "/")
        assert page.locator("#build-errors").get_by_text("posts/zz-broken.md:2:").count() == 1
        assert page.get_by_role("link", name=WEEK).count() == 1
    finally:
        broken.unlink()
    page.locator("#build-errors").wait_for(state="detached", timeout=5000)


@pytest.mark.browser
def test_browser_path_traversal_is_refused(page, served) -> None:  # type: ignore[no-untyped-def]
    _preview, url = served
    for path in ("/%2e%2e/newsletter.toml", "/public/%2e%2e/newsletter.toml", "/public/..%2f..%2fetc/passwd"):
        response = page.goto(url + path)
        assert response.status == 404, path
        assert "[site]" not in page.content()


def test_preview_outside_a_project_is_an_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("preview", "-C", tmp_path)
    assert result.exit_code == 1
    assert "no newsletter.toml" in result.output
