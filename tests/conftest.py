"""Shared fixtures: sample projects in tmp_path, the CLI, outside judges."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

# Property tests: a bounded run by default; HYPOTHESIS_PROFILE=long (CI runs it
# too) tries twenty times more inputs. Health checks: each example builds a
# project folder, and the autouse clock fixture is safe to share.
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("default", max_examples=100, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEED = next((SHARED / "seeds").glob("*.txt"), None) if (SHARED / "seeds").is_dir() else None
# A fixed "now" after every sample post: Tuesday 2026-11-24 12:00 UTC.
SAMPLE_EPOCH = "1795521600"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs at the same "now" unless it sets its own."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SAMPLE_EPOCH)


@pytest.fixture(autouse=True)
def _every_digest_is_a_sound_message(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each message the outbox writes in a test is parsed back and judged (eml_judge.py) after the test."""
    from eml_judge import judge_digest

    from newsletter import outbox

    written: list[tuple[bytes, str]] = []
    real = outbox.write_digest

    def recording(outbox_dir: Path, digest: Any) -> Any:
        written.append((digest.eml, digest.subject))
        return real(outbox_dir, digest)

    monkeypatch.setattr(outbox, "write_digest", recording)
    yield
    for eml, subject in written:
        judge_digest(eml, subject)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the repo's sample project."""
    target = tmp_path / "sample"
    target.mkdir()
    shutil.copy(REPO / "newsletter.toml", target / "newsletter.toml")
    shutil.copytree(REPO / "posts", target / "posts")
    if (REPO / "templates").is_dir():
        shutil.copytree(REPO / "templates", target / "templates")
    return target


def write_post(project: Path, name: str, text: str) -> Path:
    """Write a post file (``text`` is the whole file) and return its path."""
    path = project / "posts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def empty_project(tmp_path: Path) -> Path:
    """A project with the sample settings and no posts."""
    target = tmp_path / "proj"
    (target / "posts").mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", target / "newsletter.toml")
    return target


@pytest.fixture
def cli():
    """Run the CLI in-process: cli(args...) -> Result (exit_code, stdout, stderr)."""
    from newsletter.cli import app

    runner = CliRunner()

    def run(*args: str | os.PathLike[str]):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (for equality checks)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
