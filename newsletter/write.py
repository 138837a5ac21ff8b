"""The one way files are written: whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".newsletter-tmp-"


def write_atomic(path: Path, data: str | bytes, durable: bool = False) -> bool:
    """Write ``data`` to ``path`` atomically; skip when the bytes are unchanged.

    The data goes to a temporary file in the same folder, is flushed to disk,
    then renamed over the target, so readers see the old file or the new one,
    never a mix, even when the process is killed. ``durable`` also flushes
    the data to disk before the rename (for the outbox, which must survive a
    power cut). Returns True when the file was (re)written.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.stat().st_size == len(payload) and path.read_bytes() == payload:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return True


def clean_temp_files(folder: Path) -> int:
    """Remove temporary files left by an interrupted run; return how many."""
    count = 0
    if folder.is_dir():
        for temp in folder.rglob(TEMP_PREFIX + "*"):
            try:
                temp.unlink()
                count += 1
            except OSError:
                pass
    return count
