"""Outside judges on two weeks (the sample and a French one): the Nu HTML checker, SpamAssassin, Python's parser.

vnu runs from the jar that ``npm install vnu-jar`` fetches (never into the
repo): point ``NEWSLETTER_VNU_JAR`` at it (.ci/run does). SpamAssassin is
Debian's, with local tests only (``-L``). Locally a missing judge skips its
test with the reason; under CI=true it fails.
"""

from __future__ import annotations

import email.policy
import os
import re
import shutil
import subprocess
from email.parser import BytesParser
from pathlib import Path

import pytest

from newsletter.build import build

REPO = Path(__file__).resolve().parent.parent
WEEK = "2026-W47"
WEEKS = {"sample": REPO, "french": REPO / "tests" / "data" / "french-week"}


def _absent(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both projects built at the fixed "now" of the suite."""
    built = {}
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "1795521600"
    try:
        for name, source in WEEKS.items():
            root = tmp_path_factory.mktemp(name) / name
            root.mkdir()
            shutil.copy(source / "newsletter.toml", root / "newsletter.toml")
            shutil.copytree(source / "posts", root / "posts")
            build(root, week=WEEK)
            built[name] = root
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH")
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    return built


def _pages(root: Path) -> list[Path]:
    public = root / "public"
    return [root / "outbox" / WEEK / "message.html", *sorted(public.rglob("*.html"))]


def test_vnu_finds_no_error_in_the_messages_and_pages(weeks: dict[str, Path]) -> None:
    jar = os.environ.get("NEWSLETTER_VNU_JAR", "")
    if not jar or not Path(jar).is_file():
        _absent("the Nu HTML checker is not installed: set NEWSLETTER_VNU_JAR to vnu.jar (npm install vnu-jar)")
    if shutil.which("java") is None:
        _absent("java is not installed (Debian: default-jre-headless)")
    files = [str(p) for root in weeks.values() for p in _pages(root)]
    assert len(files) >= 10
    result = subprocess.run(
        ["java", "-jar", jar, "--errors-only", *files], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr[-4000:]


@pytest.mark.parametrize("name", WEEKS)
def test_spamassassin_scores_each_week_under_one(weeks: dict[str, Path], name: str) -> None:
    if shutil.which("spamassassin") is None:
        _absent("SpamAssassin is not installed (Debian: spamassassin)")
    eml = (weeks[name] / "outbox" / WEEK / "message.eml").read_bytes()
    result = subprocess.run(["spamassassin", "-L", "-t"], input=eml, capture_output=True, timeout=120, check=False)
    report = result.stdout.decode("utf-8", "replace")
    m = re.search(r"^X-Spam-Status: \w+, score=(-?[0-9.]+)", report, flags=re.M)
    assert m, report[-2000:]
    details = report.split("Content analysis details:", 1)[-1]
    assert float(m.group(1)) < 1.0, details


@pytest.mark.parametrize("name", WEEKS)
def test_pythons_parser_finds_no_defect(weeks: dict[str, Path], name: str) -> None:
    raw = (weeks[name] / "outbox" / WEEK / "message.eml").read_bytes()
    for policy in (email.policy.default, email.policy.strict):
        message = BytesParser(policy=policy).parsebytes(raw)
        assert [(p.get_content_type(), p.defects) for p in message.walk() if p.defects] == []
        assert [(k, v.defects) for k, v in message.items() if getattr(v, "defects", ())] == []
