"""The server's clock. Everything that reads the time calls ``clock.utcnow()`` so tests can move it.

In-process tests replace ``utcnow`` (monkeypatch). A test that drives a real server (gunicorn, another
process) moves that server's clock through a file instead: ``follow_file(path)``, wired by ``create_app`` only
when ``TESTING`` is on *and* ``TEST_CLOCK_FILE`` names a file, makes ``utcnow()`` return the naive-UTC ISO time
written in it. A production config (``TESTING`` off) never reads the setting.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

_followed: Path | None = None


def utcnow() -> datetime:
    """Now as a naive UTC datetime, the form stored in the database."""
    if _followed is not None:
        return datetime.fromisoformat(_followed.read_text().strip())
    return datetime.now(timezone.utc).replace(tzinfo=None)


def follow_file(path: str | None) -> None:
    """Tests of a real server only: read the time from ``path`` (None: the real clock again)."""
    global _followed
    _followed = Path(path) if path else None


def to_local(value: datetime | None, tz_name: str) -> datetime | None:
    """A stored naive-UTC datetime in the display time zone."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz_name))
