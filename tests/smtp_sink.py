"""A loopback SMTP server for the delivery tests and the benchmark: aiosmtpd, run as its own process.

    python tests/smtp_sink.py --log LOG [--store DIR] [--security starttls|tls|none]
        [--cert PEM --key PEM] [--auth USER:PASSWORD] [--port N]

Prints ``READY <port>`` when it listens on 127.0.0.1. Every accepted message
is appended to LOG as one JSON line (``{"rcpt": [...], "bytes": n, "file":
...}``) before the server answers 250, so the log is the truth about what
was delivered. The recipient's local part chooses a fault:

- ``reject-*``: 550 at RCPT;
- ``later-*``: 451 at RCPT the first time, then accepted;
- ``drop-*``: the connection is closed after the message was received,
  without an answer, the first time; accepted the next time;
- ``dataerr-*``: 554 after the message was received.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
import warnings
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    """The aiosmtpd handler: records messages, plays the faults."""

    def __init__(self, log: Path, store: Path | None) -> None:
        self.log = log
        self.store = store
        self.seen: dict[str, int] = {}
        self.count = 0
        self.lock = threading.Lock()

    def _first(self, key: str) -> bool:
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1
            return self.seen[key] == 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject-"):
            return f"550 5.1.1 <{address}>: no such user"
        if local.startswith("later-") and self._first("rcpt:" + address):
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        rcpt = list(envelope.rcpt_tos)
        local = rcpt[0].split("@", 1)[0].lower() if rcpt else ""
        if local.startswith("drop-") and self._first("data:" + rcpt[0]):
            server.transport.close()
            return "421 closing"  # never reaches the client: the connection is gone
        if local.startswith("dataerr-"):
            return "554 5.6.0 message refused"
        data = envelope.original_content or envelope.content
        record = {"rcpt": rcpt, "bytes": len(data), "from": envelope.mail_from, "t": time.time()}
        with self.lock:
            self.count += 1
            if self.store is not None:
                path = self.store / f"{self.count:07d}.eml"
                path.write_bytes(data)
                record["file"] = str(path)
            with self.log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
        return "250 2.0.0 OK queued"


def _authenticator(user: str, password: str):  # type: ignore[no-untyped-def]
    def check(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
        ok = ok and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    return check


def main() -> None:
    """Parse the options, listen, print READY, serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--security", choices=("starttls", "tls", "none"), default="none")
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument("--auth", default="")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # aiosmtpd's own deprecation notices are not the test's business
    handler = Sink(args.log, args.store)
    options: dict = {"hostname": "127.0.0.1", "port": args.port or _free_port(), "data_size_limit": 10_000_000}
    context = None
    if args.security != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    if args.security == "starttls":
        options.update(tls_context=context, require_starttls=True)
    elif args.security == "tls":
        options.update(ssl_context=context)
    if args.auth:
        user, password = args.auth.split(":", 1)
        options.update(authenticator=_authenticator(user, password), auth_require_tls=True)
    controller = Controller(handler, **options)
    controller.start()
    print(f"READY {controller.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.is_set() and os.getppid() != 1:
        time.sleep(0.2)
    controller.stop()
    sys.exit(0)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
