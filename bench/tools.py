"""Find the tools under test (newsletter, Pelican, Hugo) and record their versions and the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PELICAN_VENV = REPO / "bench" / ".venv-pelican"
PELICAN_PACKAGES = ["pelican", "markdown"]


def _output(argv: list[str], cwd: Path | None = None) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def newsletter_command() -> list[str]:
    """The ``newsletter`` console script of the running interpreter's environment, else ``python -m``."""
    script = Path(sys.executable).parent / "newsletter"
    if script.exists():
        return [str(script)]
    found = shutil.which("newsletter")
    return [found] if found else [sys.executable, "-m", "newsletter"]


def newsletter_version(command: list[str]) -> dict[str, str | None]:
    """The package version and the repo's commit (with a mark when the tree has local changes)."""
    commit = _output(["git", "rev-parse", "--short", "HEAD"], cwd=REPO)
    dirty = _output(["git", "status", "--porcelain", "--", "newsletter"], cwd=REPO)
    return {
        "version": _output([*command, "--version"]),
        "commit": f"{commit}{'+local changes' if dirty else ''}" if commit else None,
        "command": " ".join(command),
    }


def pelican_python(venv: Path, create: bool, log: object = print) -> tuple[Path | None, str]:
    """The Python of a venv holding Pelican, creating it with pip when missing; (None, why) when impossible."""
    python = venv / "bin" / "python"
    pelican = venv / "bin" / "pelican"
    if pelican.exists():
        return python, "ok"
    if not create:
        return None, f"no Pelican in {venv} (pass --pelican-venv, or let run.py create it)"
    log(f"creating {venv} and installing {' '.join(PELICAN_PACKAGES)} with pip (once)...")
    steps = [[sys.executable, "-m", "venv", str(venv)], [str(python), "-m", "pip", "install", "-q", *PELICAN_PACKAGES]]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return None, f"could not install Pelican: {lines[-1] if lines else 'pip failed'}"
    return python, "ok"


def pelican_versions(python: Path) -> dict[str, str | None]:
    """Versions of pelican and markdown in the Pelican venv."""
    code = "import importlib.metadata as m; print(m.version('pelican'), m.version('markdown'))"
    out = _output([str(python), "-c", code])
    pelican, markdown = out.split() if out else (None, None)
    return {"pelican": pelican, "markdown": markdown, "python": str(python)}


def hugo_binary() -> str | None:
    """The ``hugo`` on PATH (Debian's package installs /usr/bin/hugo)."""
    return shutil.which("hugo")


def hugo_version(binary: str) -> str | None:
    """``hugo version``'s first line."""
    out = _output([binary, "version"])
    return out.splitlines()[0] if out else None


def machine() -> dict[str, object]:
    """The machine the figures come from."""
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    with contextlib.suppress(ValueError, OSError):
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def scratch_root() -> Path:
    """Where corpora go: /dev/shm (tmpfs) when it is there and writable, else the temp folder."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    import tempfile

    return Path(tempfile.gettempdir())
