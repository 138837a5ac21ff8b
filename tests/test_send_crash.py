"""`newsletter send` SIGKILLed at random moments and resumed: exactly once, nobody skipped.

Each kill lands after a random number of new deliveries plus a random
fraction of a message's time, so kills fall into every step of a message
(before MAIL, between the `sending` commit and DATA, during DATA, between
the relay's 250 and the `sent` commit). The default run uses 300 recipients
and 6 kills; NEWSLETTER_LONG_TESTS=1 (CI) uses 2,000 and 25.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from delivery_helpers import WEEK, add_subscribers, configure, run_cli, sink

LONG = os.environ.get("NEWSLETTER_LONG_TESTS") == "1"
RECIPIENTS = 2000 if LONG else 300
KILLS = 25 if LONG else 6


def _count(log: Path) -> int:
    if not log.exists():
        return 0
    with log.open("rb") as handle:
        return sum(1 for _ in handle)


def test_killed_and_resumed_sends_reach_everyone_exactly_once(sample: Path, tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("NEWSLETTER_CRASH_SEED", "1247")))
    readers = [f"reader{i:05d}@example.org" for i in range(RECIPIENTS)]
    with sink(tmp_path / "sink") as server:
        configure(sample, server.port, connections=1)
        assert run_cli(sample, "build").returncode == 0
        add_subscribers(sample, readers)
        kills = 0
        for _ in range(KILLS):
            before = _count(server.log)
            if before >= RECIPIENTS - 20:
                break
            process = subprocess.Popen(
                [sys.executable, "-m", "newsletter", "send", "-q", "-C", str(sample)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            target = before + rng.randint(1, max(2, RECIPIENTS // (KILLS * 2)))
            deadline = time.monotonic() + 120
            while _count(server.log) < target and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.01))  # somewhere inside the next message
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait()
        final = run_cli(sample, "send")
        assert final.returncode == 0, final.stderr
        received = Counter(server.recipients())
    with sqlite3.connect(sample / "subscribers.db") as db:
        states = dict(db.execute("SELECT email, state FROM deliveries WHERE week = ?", (WEEK,)).fetchall())
    assert kills >= min(KILLS, 3)
    assert set(states) == set(readers)  # nobody skipped
    uncertain = [r for r in readers if states[r] == "uncertain"]
    assert all(states[r] in ("sent", "uncertain") for r in readers), Counter(states.values())
    assert all(received[r] == 1 for r in readers if states[r] == "sent")  # exactly once
    assert all(received[r] <= 1 for r in uncertain)  # at most once
    assert len(uncertain) <= kills
    assert set(received) <= set(readers)
    meta = json.loads((sample / "outbox" / WEEK / "meta.json").read_text())
    assert meta["status"] == "sent"
