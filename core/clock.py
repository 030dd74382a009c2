"""The server's clock. Everything that reads the time calls ``clock.utcnow()`` so tests can move it."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now as a naive UTC datetime, the form stored in the database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(value: datetime | None, tz_name: str) -> datetime | None:
    """A stored naive-UTC datetime in the display time zone."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz_name))
