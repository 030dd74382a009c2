"""Organizer reports: who met the yearly 学时 requirement, aggregated in SQL over a subtree.

A report covers a *period* (a year, or a date range inside one) and a *subtree* (the organizer's, or an
organization under it). Each member gets one row, computed by the database:

* ``earned`` — the sum of their ledger entries in the period, also split by source;
* ``required`` — their yearly requirement (learning.hours.requirement_for), written as one SQL CASE built
  from the hour_requirements table (see ``requirement_seconds_expr``), so 100,000 members need no Python
  call each;
* ``status`` — not required (a requirement of 0: 不适用, never counted as met), met (earned ≥ required), not started (nothing earned), on track (earned ≥ required × the
  share of the year gone by at the period's end), or behind.

Two ways to place a member in the tree (``Basis``): where they are *now*, or where they *were at the time*
each entry was earned (membership_periods, written by transfers); in the second, a member transferred
during the period is one row in each organization, with the hours earned while there.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, exists, func, literal, not_, null, or_, select, text, true, union_all

from accounts.models import MembershipPeriod, Organization, User, UserPosition
from accounts.services import subtree_condition
from core import clock
from core.extensions import db
from learning import hours
from learning.models import HourEntry, HourRequirement, HourSource, HourTotal

SOURCES = [s.value for s in HourSource]


class Basis(str, enum.Enum):
    CURRENT = "current"  # by the organization the member belongs to now
    AT_THE_TIME = "at_time"  # by the organization the member belonged to when the hours were earned


class Status(str, enum.Enum):
    MET = "met"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NOT_STARTED = "not_started"
    NOT_REQUIRED = "not_required"  # a requirement of 0 (群众, activists where no rule applies): 不适用


# --- the period ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    year: int  # whose requirement applies
    first: date  # local dates, inclusive
    last: date

    @classmethod
    def for_year(cls, year: int) -> "Period":
        return cls(year, date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def between(cls, first: date, last: date) -> "Period":
        if last < first:
            first, last = last, first
        return cls(first.year, first, last)

    @property
    def is_whole_year(self) -> bool:
        return self.first == date(self.year, 1, 1) and self.last == date(self.year, 12, 31)

    def bounds_utc(self) -> tuple[datetime, datetime]:
        tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])

        def utc(day: date) -> datetime:
            return datetime.combine(day, time.min, tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

        return utc(self.first), utc(self.last + timedelta(days=1))

    def expected_share(self) -> Decimal:
        """Share of the year's requirement a member should have by the period's end (or today, if sooner)."""
        start, end = hours.year_bounds_utc(self.year)
        upto = min(self.bounds_utc()[1], clock.utcnow())
        if upto <= start:
            return Decimal(0)
        share = Decimal((upto - start).total_seconds()) / Decimal((end - start).total_seconds())
        return min(Decimal(1), share)

    def basis_points(self) -> int:
        """``expected_share`` in 1/10,000."""
        return int(self.expected_share() * 10000)

    def label(self) -> str:
        return str(self.year) if self.is_whole_year else f"{self.first:%Y-%m-%d} ~ {self.last:%Y-%m-%d}"


# --- the requirement in SQL --------------------------------------------------------------------------------

def requirement_seconds_expr(year: int, user_id, category, org_path):
    """SQL for a member's required seconds in ``year``: the same rule as learning.hours.requirement_for
    (kept consistent: the hour_requirements table, most specific match — position, then the deepest
    organization override, then a rule for that year, then a category, then the larger — and the national
    defaults when no row matches). ``org_path`` is the materialized path of the member's organization.

    The rules are few, and the order of specificity is fixed per rule (an override's depth is its
    organization's depth), so sorting them once gives a CASE whose first matching branch is the best rule."""
    rules = db.session.execute(
        select(HourRequirement, Organization)
        .outerjoin(Organization, Organization.id == HourRequirement.org_id)
        .where(or_(HourRequirement.year.is_(None), HourRequirement.year == year))).all()

    def condition(rule_category, rule_position, org):
        parts = []
        if rule_category is not None:
            parts.append(category == rule_category)
        if rule_position is not None:
            parts.append(exists().where(UserPosition.user_id == user_id, UserPosition.position == rule_position))
        if org is not None:
            parts.append(subtree_condition(org, org_path))
        return and_(*parts) if parts else true()

    def specificity(item):
        rule, org = item
        return (rule.position is not None, org.depth if org is not None else -1, rule.year is not None,
                rule.category is not None, Decimal(rule.hours))

    branches = [(condition(rule.category, rule.position, org), hours.units_to_seconds(rule.hours))
                for rule, org in sorted((r for r in rules if r[0].org_id is None or r[1] is not None),
                                        key=specificity, reverse=True)]
    defaults = sorted(hours.DEFAULT_REQUIREMENTS, key=lambda d: (d[1] is not None, d[0] is not None, d[2]),
                      reverse=True)
    branches += [(condition(c, p, None), hours.units_to_seconds(h)) for c, p, h, _basis in defaults]
    return case(*branches, else_=0)


def placement(basis: Basis, start: datetime, end: datetime):
    """Where each member is counted: columns (user_id, org_id, since, until) of a subquery. ``CURRENT``:
    their organization now, for all time. ``AT_THE_TIME``: each membership stretch overlapping the period
    (a member never transferred has one, unbounded, in their current organization)."""
    if basis == Basis.CURRENT:
        stmt = (select(User.id.label("user_id"), User.organization_id.label("org_id"),
                       null().label("since"), null().label("until"))
                .where(User.organization_id.is_not(None)))
    else:
        history = select(MembershipPeriod.user_id, MembershipPeriod.organization_id,
                         MembershipPeriod.started_at, MembershipPeriod.ended_at).where(
            or_(MembershipPeriod.started_at.is_(None), MembershipPeriod.started_at < end),
            or_(MembershipPeriod.ended_at.is_(None), MembershipPeriod.ended_at > start))
        never_moved = select(User.id, User.organization_id, null(), null()).where(
            User.organization_id.is_not(None),
            not_(exists().where(MembershipPeriod.user_id == User.id)))
        stmt = union_all(history, never_moved)
    place = stmt.subquery("place")
    return tuple(place.c[k] for k in place.c.keys())


def within_stretch(occurred_at, since, until):
    return and_(or_(since.is_(None), occurred_at >= since), or_(until.is_(None), occurred_at < until))


# --- one row per member ---------------------------------------------------------------------------------------

@dataclass
class Filters:
    category: str | None = None  # a MemberCategory value
    met: bool | None = None  # True: only members who met it; False: only who did not
    status: Status | None = None


def member_rows(root: Organization | None, period: Period, basis: Basis = Basis.CURRENT,
                filters: Filters | None = None):
    """A SELECT with one row per member (per membership stretch, ``AT_THE_TIME``) in ``root``'s subtree
    (None: everything): user_id, org_id, org_path, name, phone, category, required, earned, one column per
    source, and status. Use it as a subquery for aggregates or iterate it for exports."""
    filters = filters or Filters()
    members = members_cte(root, period, basis, filters)
    earned, required = members.c.earned, members.c.required
    status = status_expr(members, period)
    stmt = select(*members.c, status.label("status"))
    if filters.met is True:
        stmt = stmt.where(earned >= required, required > 0)
    elif filters.met is False:
        stmt = stmt.where(earned < required)
    if filters.status is not None:
        stmt = stmt.where(status == filters.status.value)
    return stmt


def members_cte(root: Organization | None, period: Period, basis: Basis, filters: Filters, *, detail: bool = True):
    """The members of the report as a MATERIALIZED CTE: user_id, org_id, org_path, required, earned (and, with
    ``detail``, name, phone, category and one column per source). Materialized, each member's requirement and
    earned seconds are computed once, however often the status and the aggregates above refer to them.

    A whole year by current organization reads ``hour_totals`` (the ledger summed per member and year by
    triggers, learning.totals); other periods sum the ledger itself (its member index covers the sum)."""
    return members_select(root, period, basis, filters, detail=detail).cte("members").prefix_with("MATERIALIZED")


def members_select(root: Organization | None, period: Period, basis: Basis, filters: Filters, *,
                   detail: bool = True):
    """``members_cte``'s SELECT itself: for a plain iteration (an export), where each column is computed once."""
    start, end = period.bounds_utc()
    in_period = and_(HourEntry.occurred_at >= start, HourEntry.occurred_at < end)
    sources = SOURCES if detail else []
    sums = [func.sum(HourEntry.seconds).label("earned")] + [
        func.sum(case((HourEntry.source == s, HourEntry.seconds), else_=0)).label(s) for s in sources]
    if basis == Basis.CURRENT:
        if period.is_whole_year:
            totals = (select(HourTotal.user_id.label("uid"), HourTotal.seconds.label("earned"),
                             *[getattr(HourTotal, s).label(s) for s in sources])
                      .where(HourTotal.year == period.year).subquery("e"))
        else:  # the ledger summed per member first (one index range per member), then joined
            totals = (select(HourEntry.user_id.label("uid"), *sums).where(in_period)
                      .group_by(HourEntry.user_id).subquery("e"))
        base = (select().select_from(User)
                .join(Organization, Organization.id == User.organization_id)
                .outerjoin(totals, totals.c.uid == User.id))
    else:
        user_id, org_id, since, until = placement(basis, start, end)
        entry_join = and_(HourEntry.user_id == user_id, in_period, within_stretch(HourEntry.occurred_at, since, until))
        totals = (select(user_id.label("uid"), org_id.label("oid"), *sums).select_from(user_id.table)
                  .outerjoin(HourEntry, entry_join).group_by(user_id, org_id, since).subquery("e"))
        base = (select().select_from(totals)
                .join(User, User.id == totals.c.uid)
                .join(Organization, Organization.id == totals.c.oid))
    required = requirement_seconds_expr(period.year, User.id, User.category, Organization.path)
    columns = [User.id.label("user_id"), Organization.id.label("org_id"), Organization.path.label("org_path")]
    if detail:
        columns += [User.name, User.phone, User.category]
    columns += [required.label("required"), func.coalesce(totals.c.earned, 0).label("earned")]
    columns += [func.coalesce(totals.c[s], 0).label(s) for s in sources]
    inner = base.add_columns(*columns).where(User.is_active_flag.is_(True))
    if root is not None:
        inner = inner.where(subtree_condition(root))
    if filters.category:
        inner = inner.where(User.category == filters.category)
    return inner


def classify(earned: int, required: int, basis_points: int) -> str:
    """``status_expr`` in Python, for rows read without it (exports)."""
    if required <= 0:
        return Status.NOT_REQUIRED.value
    if earned >= required:
        return Status.MET.value
    if earned <= 0:
        return Status.NOT_STARTED.value
    if earned * 10000 >= required * basis_points:
        return Status.ON_TRACK.value
    return Status.BEHIND.value


def status_expr(members, period: Period):
    """met (earned ≥ required), not started (nothing), on track (earned ≥ required × the share of the year gone
    by at the period's end), or behind: one CASE over the members' columns."""
    earned, required = members.c.earned, members.c.required
    basis_points = period.basis_points()
    return case(
        (required <= 0, literal(Status.NOT_REQUIRED.value)),
        (earned >= required, literal(Status.MET.value)),
        (earned <= 0, literal(Status.NOT_STARTED.value)),
        (earned * 10000 >= required * basis_points, literal(Status.ON_TRACK.value)),
        else_=literal(Status.BEHIND.value))


# --- the dashboard: one line per child organization ----------------------------------------------------------

@dataclass
class Line:
    org: Organization | None  # None: members directly in the report's own organization ("本级")
    members: int = 0
    met: int = 0
    on_track: int = 0
    behind: int = 0
    not_started: int = 0
    earned: int = 0  # seconds, all members
    not_required: int = 0  # a requirement of 0: 不适用, outside the share

    @property
    def average_seconds(self) -> int:
        return self.earned // self.members if self.members else 0

    @property
    def required_members(self) -> int:
        return self.members - self.not_required

    @property
    def met_share(self) -> float:
        """The share who met their requirement, among those who have one."""
        return self.met / self.required_members if self.required_members else 0.0

    def add(self, other: "Line") -> None:
        for name in ("members", "met", "on_track", "behind", "not_started", "earned", "not_required"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Compliance:
    root: Organization | None
    period: Period
    basis: Basis
    lines: list[Line] = field(default_factory=list)
    total: Line = field(default_factory=lambda: Line(None))
    own: Line | None = None  # members directly in ``root``


def without_jit() -> None:
    """PostgreSQL: no JIT compilation in this transaction. A report over 100,000 members is costed above
    ``jit_above_cost``, and compiling it (0.5–1 s) costs more than running it."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def compliance(root: Organization | None, period: Period, basis: Basis = Basis.CURRENT,
               filters: Filters | None = None) -> Compliance:
    """Counts per child organization of ``root`` (None: per top-level organization). A fixed number of
    queries whatever the size: the rules, the aggregate per organization, the organizations."""
    filters = filters or Filters()
    without_jit()
    members = members_cte(root, period, basis, filters, detail=False)
    status = status_expr(members, period)
    stmt = select(members.c.org_id, members.c.org_path, func.count(),
                  *[func.sum(case((status == s.value, 1), else_=0)) for s in Status],
                  func.coalesce(func.sum(members.c.earned), 0))
    if filters.met is not None:
        stmt = stmt.where(and_(members.c.earned >= members.c.required, members.c.required > 0) if filters.met
                          else members.c.earned < members.c.required)
    if filters.status is not None:
        stmt = stmt.where(status == filters.status.value)
    per_org = db.session.execute(stmt.group_by(members.c.org_id, members.c.org_path)).all()
    children = db.session.scalars(
        select(Organization).where(Organization.parent_id == root.id if root is not None
                                   else Organization.parent_id.is_(None)).order_by(Organization.code)).all()
    report = Compliance(root, period, basis, lines=[Line(c) for c in children])
    by_prefix = {line.org.path: line for line in report.lines}
    for org_id, path, count, met, on_track, behind, not_started, not_required, earned in per_org:
        line_for_org = Line(None, count, int(met or 0), int(on_track or 0), int(behind or 0),
                            int(not_started or 0), int(earned or 0), int(not_required or 0))
        depth_cut = (root.depth + 2) if root is not None else 1
        prefix = "/" + "/".join(path.strip("/").split("/")[:depth_cut]) + "/"
        target = by_prefix.get(prefix)
        if target is None:  # a member of the root organization itself
            report.own = report.own or Line(root)
            target = report.own
        target.add(line_for_org)
        report.total.add(line_for_org)
    return report


def org_members(org: Organization | None, period: Period, basis: Basis = Basis.CURRENT,
                filters: Filters | None = None, *, direct_only: bool = False):
    """The member rows of ``org``'s subtree (or of ``org`` alone), most behind first: a SELECT over
    ``member_rows`` as a subquery, for paging or an export."""
    without_jit()
    stmt = member_rows(org, period, basis, filters)
    if direct_only and org is not None:
        stmt = stmt.where(stmt.selected_columns.org_id == org.id)
    rows = stmt.subquery("m")
    order = case({Status.NOT_STARTED.value: 0, Status.BEHIND.value: 1, Status.ON_TRACK.value: 2,
                  Status.MET.value: 3}, value=rows.c.status)
    return select(rows).order_by(order, rows.c.earned, rows.c.user_id)
