"""Users, the organization tree (materialized path), API tokens and login attempts."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Index, Integer, String, false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core import clock
from core.extensions import db
from core.models import TimestampMixin
from core.permissions import Role

# Materialized paths sort byte-wise on PostgreSQL too, so a subtree is one index range scan.
PathString = String(512).with_variant(String(512, collation="C"), "postgresql")


def enum_column(enum_cls: type[enum.Enum]) -> Enum:
    """Store an enum as its value in a plain string column (no database enum type to migrate)."""
    return Enum(enum_cls, native_enum=False, length=32, validate_strings=True,
                values_callable=lambda cls: [member.value for member in cls])


class Organization(TimestampMixin, db.Model):
    """A node of the grid: 街道 → 社区 → 小区 → 楼院, or 党委 → 党支部 → 党小组, of any depth.

    ``path`` is the ids from the root down, ``/1/5/23/``; the subtree of a node is every row
    whose path starts with the node's path, found by one range scan on ``ix_organizations_path``.
    """

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # the grid's label for this level: 街道, 社区, 党支部 ...
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"), index=True)
    path: Mapped[str] = mapped_column(PathString, default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Optional["Organization"]] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Organization"]] = relationship(back_populates="parent", order_by="Organization.code")

    __table_args__ = (Index("ix_organizations_path", "path"),)

    def is_within(self, ancestor: "Organization") -> bool:
        return self.path.startswith(ancestor.path)

    @property
    def path_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def __repr__(self) -> str:
        return f"<Organization {self.code} {self.name}>"


class MemberCategory(str, enum.Enum):
    FULL = "full"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员
    ACTIVIST = "activist"  # 入党积极分子
    PUBLIC = "public"  # 群众


class Position(str, enum.Enum):
    SECRETARY = "secretary"  # 书记
    COMMITTEE = "committee"  # 委员


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    username: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.MEMBER)
    category: Mapped[MemberCategory] = mapped_column(enum_column(MemberCategory), default=MemberCategory.PUBLIC)
    organization_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"), index=True)
    # For organizers: the root of the subtree they keep.
    managed_org_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"), index=True)
    is_active_flag: Mapped[bool] = mapped_column("is_active", Boolean, default=True)
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    # Part of the login kept in the session and the remember-me cookie (``get_id``): raising it signs the user
    # out of every browser at its next request, on every server (logout, new password, deactivation).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    large_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())  # 长辈模式

    organization: Mapped[Optional[Organization]] = relationship(foreign_keys=[organization_id])
    managed_org: Mapped[Optional[Organization]] = relationship(foreign_keys=[managed_org_id])
    position_rows: Mapped[list["UserPosition"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="select")  # loaded on demand; lists selectinload it

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.is_active_flag)

    @property
    def positions(self) -> set[Position]:
        return {row.position for row in self.position_rows}

    @positions.setter
    def positions(self, values) -> None:
        wanted = {Position(v) for v in values}
        self.position_rows = [row for row in self.position_rows if row.position in wanted] + [
            UserPosition(position=p) for p in sorted(wanted - self.positions, key=lambda p: p.value)]

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie: the id and the session version."""
        return f"{self.id}.{self.session_version or 1}"

    @property
    def has_usable_password(self) -> bool:
        return bool(self.password_hash) and self.password_hash != UNUSABLE_PASSWORD

    def set_password(self, password: str) -> None:
        """Hashes ``password`` as it is; ``accounts.services.set_password`` checks the policy first."""
        self.password_hash = hash_password(password)

    def set_unusable_password(self) -> None:
        """No password yet: the member gets in with an activation code."""
        self.password_hash = UNUSABLE_PASSWORD

    def check_password(self, password: str) -> bool:
        return self.has_usable_password and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.name} {self.role.value}>"


UNUSABLE_PASSWORD = "!"  # no hash method yields it, so no password matches


def hash_password(password: str) -> str:
    """werkzeug's salted hash by ``PASSWORD_HASH_METHOD`` (scrypt; the test suite configures a cheap one).
    Checking reads the method from the hash, so hashes made under another setting keep working."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


class UserPosition(db.Model):
    """A position a member holds (书记, 委员); it raises their yearly training requirement."""

    __tablename__ = "user_positions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[Position] = mapped_column(enum_column(Position), primary_key=True)

    user: Mapped[User] = relationship(back_populates="position_rows")


class ApiToken(db.Model):
    """A personal access token for the API. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    last_used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class MembershipPeriod(db.Model):
    """A stretch of a member's membership of one organization (组织关系). Written when a member is
    transferred: the old stretch gets its end, a new one starts. A member without any row has always
    belonged to their current organization. ``started_at`` None: since before records were kept."""

    __tablename__ = "membership_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # None: current
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(200), default="")

    organization: Mapped[Organization] = relationship()

    __table_args__ = (Index("ix_membership_periods_user_started", "user_id", "started_at"),)


class PersonalDataAudit(db.Model):
    """Who saw personal data unmasked (full phone numbers in an export), when and what (个人信息保护法)."""

    __tablename__ = "personal_data_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # None: the command line
    action: Mapped[str] = mapped_column(String(40))  # e.g. "export:summary:full_phones"
    scope: Mapped[str] = mapped_column(String(300), default="")  # organization code, period, filters
    channel: Mapped[str] = mapped_column(String(10), default="web")  # "web" or "cli"


class AccessCodePurpose(str, enum.Enum):
    ACTIVATION = "activation"  # a member who never had a password
    RESET = "reset"  # a member who forgot theirs


class AccessCode(db.Model):
    """A one-time code (激活码 / 重置码) an organizer hands a member on a printed slip or by SMS: with their phone
    it lets the member choose a password. Only a hash is stored; a new code replaces the member's older ones;
    using it is one conditional UPDATE (``used_at IS NULL``), so a code works once even on two servers."""

    __tablename__ = "access_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[AccessCodePurpose] = mapped_column(enum_column(AccessCodePurpose))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow())
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
