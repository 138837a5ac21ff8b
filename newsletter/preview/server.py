"""The preview server: the standard library's ThreadingHTTPServer on 127.0.0.1 only.

Routes (GET and HEAD; any other method gets 405):

    /                               the outbox
    /message/<week>/[text|headers|source|checks]   views of one message
    /message/<week>/frame/<light|dark>             the message HTML for the iframes
    /outbox/<week>/<message file>   a message's files as they are
    /public/<path>                  the built web side (a folder: its index.html)
    /events                         server-sent events: "building", "reload"
    /_preview/<file>                the preview's CSS and JavaScript

Nothing outside the project folder is served: a path segment that is empty,
``.`` or ``..`` (also when percent-encoded) is refused, and every file is
resolved and must stay inside its folder, so symbolic links that leave it
give 404 as well. Requests naming another host are refused (DNS rebinding).
"""

from __future__ import annotations

import contextlib
import mimetypes
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from newsletter.preview import pages
from newsletter.preview.frames import SCHEMES, frame_html
from newsletter.preview.state import MESSAGE_FILES, PreviewState, inside

HOST = "127.0.0.1"
DEFAULT_PORT = 8025
PORT_TRIES = 50
KEEPALIVE_SECONDS = 15.0
WEEK = re.compile(r"^\d{4}-W\d{2}$")
PAGE_CSP = (
    "default-src 'self'; img-src 'self' https: http: data:; style-src 'self'; script-src 'self'; "
    "frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
FRAME_CSP = (
    "default-src 'none'; img-src 'self' https: http: data:; style-src 'unsafe-inline'; font-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
TYPES = {".eml": "text/plain", ".xml": "text/xml", ".json": "application/json", ".txt": "text/plain"}


def split_path(raw: str) -> list[str] | None:
    """The decoded segments of a request path; None for anything that could step outside.

    ``/message/2026-W47/`` gives ``["message", "2026-W47", ""]`` (a final
    empty segment marks a folder). Empty segments elsewhere (``//etc``),
    ``.`` and ``..`` (also as ``%2e%2e``), encoded slashes, backslashes and
    NUL bytes are refused.
    """
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        return None
    segments = [unquote(s, errors="strict") if "%" in s else s for s in path[1:].split("/")]
    for segment in segments[:-1]:
        if segment in ("", ".", ".."):
            return None
    if any(s in (".", "..") or "/" in s or "\\" in s or "\0" in s for s in segments):
        return None
    return segments


class Handler(BaseHTTPRequestHandler):
    """One request: route it, answer it. Methods other than GET and HEAD get 405."""

    server: PreviewServer
    server_version = "newsletter-preview"
    sys_version = ""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # POST, PUT, DELETE, ... : not allowed here
            return self._not_allowed
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # quiet: the console shows builds, not requests

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        try:
            self._route(head)
        except (BrokenPipeError, ConnectionResetError):
            return  # the browser went away
        except Exception as exc:  # noqa: BLE001 - one bad page must not stop the preview
            self.server.state.log(f"preview: {self.path[:200]}: {type(exc).__name__}: {exc}")
            with contextlib.suppress(OSError):
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"500: {type(exc).__name__}\n".encode(), "text/plain")

    def _not_allowed(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"405 Method Not Allowed\n", "text/plain", {"Allow": "GET, HEAD"})

    # -- routing

    def _route(self, head: bool) -> None:
        self.head = head
        state = self.server.state
        host = self.headers.get("Host", "")
        if host not in self.server.hosts:
            self._send(HTTPStatus.FORBIDDEN, b"403 Forbidden: unknown Host\n", "text/plain")
            return
        try:
            segments = split_path(self.path)
        except UnicodeDecodeError:
            segments = None
        if segments is None:
            return self._not_found()
        first, rest = segments[0], segments[1:]
        if segments == [""]:
            return self._page(pages.render_index(state))
        if segments == ["events"]:
            return self._events()
        if first == "_preview" and len(rest) == 1 and (found := pages.static_file(rest[0])) is not None:
            return self._send(HTTPStatus.OK, found[0], found[1], {"Cache-Control": "no-cache"})
        if first == "message" and rest and WEEK.match(rest[0]):
            return self._message(rest[0], rest[1:])
        if first == "outbox" and len(rest) == 2 and WEEK.match(rest[0]) and rest[1] in MESSAGE_FILES:
            entry = state.message(rest[0])
            data = state.read(entry, rest[1]) if entry is not None else None
            return self._file_bytes(data, rest[1]) if data is not None else self._not_found()
        if first == "public" and rest:
            return self._public(rest)
        return self._not_found()

    def _message(self, week: str, rest: list[str]) -> None:
        state = self.server.state
        entry = state.message(week)
        if entry is None:
            return self._not_found()
        if not rest:  # /message/<week> -> /message/<week>/
            return self._send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", {"Location": f"/message/{week}/"})
        if len(rest) == 1 and rest[0] in pages.VIEWS:
            return self._page(pages.render_message(state, entry, rest[0]))
        if len(rest) == 2 and rest[0] == "frame" and rest[1] in SCHEMES:
            html = (state.read(entry, "message.html") or b"").decode("utf-8", "replace")
            body = frame_html(html, rest[1], self._local_url)
            return self._send(HTTPStatus.OK, body.encode("utf-8"), "text/html; charset=utf-8", {}, FRAME_CSP)
        return self._not_found()

    def _local_url(self, url: str) -> str | None:
        """``/public/...`` for a URL under the site whose file is in public/."""
        from newsletter.checks.html import local_file

        state = self.server.state
        public = state.public
        target = local_file(url, state.settings.site.base_url, public) if public is not None else None
        if target is None or public is None:
            return None
        rel = target.relative_to(public).parts
        return "/public/" + "/".join(rel) if inside(public, *rel) is not None else None

    def _public(self, rest: list[str]) -> None:
        public = self.server.state.public
        if public is None:
            return self._not_found()
        if rest[-1] == "":
            rest = [*rest[:-1], "index.html"]
        found = inside(public, *rest)
        if found is not None and found.is_dir():  # a folder without its final slash
            found = inside(public, *rest, "index.html")
        if found is None or not found.is_file():
            return self._not_found()
        try:
            data = found.read_bytes()
        except OSError:
            return self._not_found()
        self._file_bytes(data, found.name)

    # -- responses

    def _file_bytes(self, data: bytes, name: str) -> None:
        suffix = Path(name).suffix.lower()
        kind = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
            kind += "; charset=utf-8"
        self._send(HTTPStatus.OK, data, kind, {}, FRAME_CSP)

    def _page(self, body: str) -> None:
        self._send(HTTPStatus.OK, body.encode("utf-8"), "text/html; charset=utf-8")

    def _not_found(self) -> None:
        body = pages.render_not_found(self.path[:200]).encode("utf-8")
        self._send(HTTPStatus.NOT_FOUND, body, "text/html; charset=utf-8")

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        kind: str,
        extra: dict[str, str] | None = None,
        csp: str = PAGE_CSP,
    ) -> None:
        self.send_response(status)
        headers = {
            "Content-Type": kind,
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": csp,
            **(extra or {}),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not getattr(self, "head", False):
            self.wfile.write(body)

    def _events(self) -> None:
        """Server-sent events: "hello" (the current generation), "building", "reload" after each build."""
        state = self.server.state
        self.send_response(HTTPStatus.OK)
        for name, value in (
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ):
            self.send_header(name, value)
        self.end_headers()
        if self.head:
            return
        seen = (state.status.generation, state.status.building)
        try:
            self._event("hello", str(seen[0]), retry=1000)
            while not state.stopping:
                now = self._wait_for_change(state, seen)
                if state.stopping:
                    break
                if now == seen:
                    self.wfile.write(b": keep-alive\n\n")
                elif now[0] != seen[0]:
                    self._event("reload", str(now[0]))
                elif now[1]:
                    self._event("building", str(now[0]))
                self.wfile.flush()
                seen = now
        except (BrokenPipeError, ConnectionResetError, OSError):
            return  # the page went away

    @staticmethod
    def _wait_for_change(state: PreviewState, seen: tuple[int, bool]) -> tuple[int, bool]:
        """Wait until a build starts or ends (or the keep-alive time passes); return the new state."""

        def current() -> tuple[int, bool]:
            return state.status.generation, state.status.building

        with state.changed:
            state.changed.wait_for(lambda: state.stopping or current() != seen, timeout=KEEPALIVE_SECONDS)
            return current()

    def _event(self, name: str, data: str, retry: int | None = None) -> None:
        prefix = f"retry: {retry}\n" if retry else ""
        self.wfile.write(f"{prefix}event: {name}\ndata: {data}\n\n".encode())
        self.wfile.flush()


class PreviewServer(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 that knows the preview state."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, state: PreviewState) -> None:
        self.state = state
        super().__init__((HOST, port), Handler)
        self.port = self.server_address[1]
        self.hosts = {f"{HOST}:{self.port}", f"localhost:{self.port}"}

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        return f"http://{HOST}:{self.port}/"


def bind(state: PreviewState, port: int = 0) -> PreviewServer:
    """A server on ``port``, or with port 0 on 8025 or the next free port after it."""
    from newsletter.errors import NewsletterError

    if port:
        try:
            return PreviewServer(port, state)
        except OSError as exc:
            raise NewsletterError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
    for candidate in range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES):
        try:
            return PreviewServer(candidate, state)
        except OSError:
            continue
    raise NewsletterError(f"no free port on {HOST} from {DEFAULT_PORT} to {DEFAULT_PORT + PORT_TRIES - 1}")
