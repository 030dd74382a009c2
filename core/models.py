"""Declarative base with a naming convention (stable constraint names for Alembic) and mixins."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """Created/updated times, stored as naive UTC."""

    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=lambda: clock.utcnow(), onupdate=lambda: clock.utcnow()
    )
