"""Load on the subscription service: one-click unsubscribes from two workers while `send` runs.

    python bench/serve_load.py [--requests 2000] [--threads 16] [--postgres URL] [--out FILE.json]

Makes a project (the sample's posts and settings) with ``--requests``
subscribers, builds the week, starts the aiosmtpd sink of tests/smtp_sink.py,
two ``newsletter serve`` processes (waitress, 4 threads each) on loopback
ports and a ``newsletter send`` to the sink; then POSTs one RFC 8058
one-click unsubscribe per subscriber, split over the two workers, from
``--threads`` keep-alive clients. Bounded: each request once, at most
120 s. Reports requests per second, latency percentiles, status counts,
errors, whether every unsubscribe was recorded, and how `send` ended.
SQLite by default; ``--postgres`` runs the same on a scratch PostgreSQL
database (a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newsletter.config import load_settings  # noqa: E402
from newsletter.delivery.db import connect  # noqa: E402
from newsletter.delivery.subscribers import Subscriber, SubscriberStore  # noqa: E402
from newsletter.delivery.tokens import unsubscribe_link  # noqa: E402
from newsletter.errors import Problems  # noqa: E402
from tests.delivery_helpers import sink  # noqa: E402
from tests.servicekit import (  # noqa: E402
    LIST_ID,
    SECRET,
    make_project,
    served,
    unsubscribe_storm,
    wait_until_sending,
)

EPOCH = "1795521600"  # Tuesday 2026-11-24 12:00 UTC: the sample's last week is 2026-W47


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile (0..1) of ``values`` by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(requests: int, threads: int, database: str, folder: Path) -> dict[str, object]:
    """One load run; the figures as a dict."""
    people = [f"reader{n:05d}@example.org" for n in range(requests)]
    with ExitStack() as stack:
        smtp = stack.enter_context(sink(folder / "sink"))
        project = make_project(folder / "proj", database=database, smtp_port=smtp.port,
                               extra="connections = 2\nrate = 100000\n")  # fmt: skip
        settings = load_settings(project, Problems())
        with connect(project, settings) as db:
            SubscriberStore(db).add_many([Subscriber(a, f"Reader {n}") for n, a in enumerate(people)])
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
        build = subprocess.run([sys.executable, "-m", "newsletter", "build", "-C", str(project)],
                               capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
        if build.returncode:
            raise SystemExit(f"build failed: {build.stderr}")
        first = stack.enter_context(served(project))
        second = stack.enter_context(served(project))
        send_started = time.perf_counter()
        send = subprocess.Popen([sys.executable, "-m", "newsletter", "send", "-C", str(project)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        wait_until_sending(smtp, send)
        base = "https://news.northbridge-care.example.org/unsubscribe"
        targets = [((first, second)[n % 2], urlsplit(unsubscribe_link(base, SECRET.encode(), LIST_ID, a)).query)
                   for n, a in enumerate(people)]  # fmt: skip
        result = unsubscribe_storm(targets, threads=threads, deadline=120)
        _, send_err = send.communicate(timeout=600)
        send_seconds = time.perf_counter() - send_started
        with connect(project, settings) as db:
            counts = SubscriberStore(db).counts()
        latencies = result["latencies"]
        return {
            "database": "postgresql" if database else "sqlite",
            "requests": requests,
            "threads": threads,
            "workers": 2,
            "seconds": round(result["seconds"], 3),
            "requests_per_second": round(len(latencies) / result["seconds"], 1),
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
            "max_ms": round(1000 * max(latencies), 1),
            "statuses": result["statuses"],
            "errors": result["errors"][:5],
            "error_count": len(result["errors"]),
            "unsubscribed_recorded": counts["unsubscribed"],
            "all_recorded": counts["unsubscribed"] == requests,
            "send_exit": send.returncode,
            "send_error": send_err.strip().splitlines()[-1] if send.returncode and send_err.strip() else "",
            "send_seconds": round(send_seconds, 1),
            "messages_received_by_sink": len(smtp.received()),
        }


def main() -> None:
    """Parse the options, run, print (and save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--postgres", default="", help="postgresql:// URL of a scratch database")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        if args.postgres:
            os.environ["NEWSLETTER_TEST_POSTGRES"] = args.postgres
            import tests.servicekit as kit

            kit.PG_URL = args.postgres
            with kit.postgres_schema() as url:
                figures = run(args.requests, args.threads, url, Path(tmp))
        else:
            figures = run(args.requests, args.threads, "", Path(tmp))
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if not figures["all_recorded"] or figures["error_count"] or figures["send_exit"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
