"""How fast `newsletter send` hands messages to a relay, and how much memory it needs.

    python bench/send_bench.py [--recipients 10000] [--connections 1 4] [--no-dkim]

A project with the repo's sample posts and settings, DKIM on (a fresh
2048-bit key), N subscribers, and tests/smtp_sink.py (aiosmtpd, its own
process) on loopback as the relay. Each configuration runs `newsletter send`
in a fresh process and reports messages per second (from the first to the
last message the sink received), the CPU time `send` spent per message (with
its DKIM workers: on a busy machine the rate says more about the neighbours)
and the peak resident memory of the send process and its DKIM workers. Memory is measured at two list sizes: it must
not grow with the list. Results go to bench/results/send.json too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from delivery_helpers import add_subscribers, configure, make_dkim_key, sink  # noqa: E402

EPOCH = "1795521600"  # the tests' "now": the sample posts' week is "last"


def _project(folder: Path, port: int, connections: int, dkim: bool, recipients: int, rate: int) -> Path:
    project = folder / f"p-{connections}-{recipients}-{int(dkim)}-{rate}"
    project.mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", project / "newsletter.toml")
    shutil.copytree(REPO / "posts", project / "posts")
    configure(project, port, connections=connections, rate=rate, dkim=dkim)
    if dkim:
        make_dkim_key(project / "dkim.key")
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    subprocess.run([sys.executable, "-m", "newsletter", "build", "-q", "-C", str(project)], check=True, env=env)
    add_subscribers(project, [f"reader{i:06d}@example.org" for i in range(recipients)])
    return project


def _measure(command: list[str], env: dict[str, str]) -> tuple[int, float, int, float]:
    """Run ``command`` in a wrapper process.

    Returns ``(exit code, seconds, peak RSS in KiB of it or any child, CPU seconds of it and its children)``.
    """
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(code, time.monotonic() - t, u.ru_maxrss, u.ru_utime + u.ru_stime)\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, env=env)
    code, seconds, rss, cpu = out.stdout.split()
    return int(code), float(seconds), int(rss), float(cpu)


def run_one(folder: Path, recipients: int, connections: int, dkim: bool, rate: int = 100_000) -> dict[str, object]:
    """One configuration: a fresh sink and project, one `newsletter send`."""
    with sink(folder / f"sink-{connections}-{recipients}-{int(dkim)}-{rate}") as server:
        project = _project(folder, server.port, connections, dkim, recipients, rate)
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
        command = [sys.executable, "-m", "newsletter", "send", "-q", "-C", str(project)]
        load = os.getloadavg()[0]
        sink_cpu = server.cpu_seconds()
        code, seconds, rss, cpu = _measure(command, env)
        sink_cpu = server.cpu_seconds() - sink_cpu
        received = server.received()
        first_to_last = received[-1]["t"] - received[0]["t"] if len(received) > 1 else 0.0
    if code != 0 or len(received) != recipients:
        raise SystemExit(f"send failed: exit {code}, {len(received)} of {recipients} received")
    return {
        "recipients": recipients,
        "connections": connections,
        "rate_limit": rate,
        "dkim": dkim,
        "seconds_total": round(seconds, 2),
        "messages_per_second": round((recipients - 1) / first_to_last, 2) if first_to_last else None,
        "peak_rss_mib": round(rss / 1024, 1),
        "send_cpu_ms_per_message": round(cpu * 1000 / recipients, 2),
        "sink_cpu_ms_per_message": round(sink_cpu * 1000 / recipients, 2),
        "load_average_before": round(load, 1),
        "message_bytes": received[0]["bytes"],
    }


def main() -> None:
    """Parse the options, run every configuration, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000, help="the second list size, for the memory comparison")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--no-dkim", action="store_true")
    args = parser.parse_args()
    dkim = not args.no_dkim
    results = []
    with tempfile.TemporaryDirectory(prefix="newsletter-send-bench-") as tmp:
        for connections in args.connections:
            results.append(run_one(Path(tmp), args.recipients, connections, dkim))
        results.append(run_one(Path(tmp), args.small, args.connections[-1], dkim))
        # [smtp] rate honoured: 51 messages at 5/s over two connections should take 10 s.
        results.append(run_one(Path(tmp), 51, 2, dkim, rate=5))
    print(f"{'recipients':>10} {'conns':>5} {'rate':>6} {'dkim':>4} {'msg/s':>7} {'total s':>8} {'peak MiB':>9} "
          f"{'send CPU ms/msg':>15} {'sink CPU ms/msg':>15} {'load':>5}")  # fmt: skip
    for r in results:
        print(
            f"{r['recipients']:>10} {r['connections']:>5} {r['rate_limit']:>6} {'on' if r['dkim'] else 'off':>4} "
            f"{r['messages_per_second']!s:>7} {r['seconds_total']:>8} {r['peak_rss_mib']:>9} "
            f"{r['send_cpu_ms_per_message']:>15} {r['sink_cpu_ms_per_message']:>15} {r['load_average_before']:>5}"
        )
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(), "when": time.time()}
    (out / "send.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
