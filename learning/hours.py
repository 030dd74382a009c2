"""学时 arithmetic, the yearly requirement, and a member's totals (SQL sums over the ledger).

Time is stored as integer seconds; it becomes 学时 only here, for display and export, by
``MINUTES_PER_HOUR_UNIT`` and ``HOUR_ROUNDING``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select

from accounts.models import MemberCategory, Position, User
from core import clock
from core.extensions import db
from courses.enrollments import course_progress
from courses.models import Course, CreditMode, Lecture
from learning.models import Certificate, HourEntry, HourRequirement, HourSource

# 《中国共产党党员教育管理工作条例》(2019) 第二十条 and the 2019–2023 national training plan for party members.
REGULATION = "《中国共产党党员教育管理工作条例》第二十条"
PLAN = "《2019—2023年全国党员教育培训工作规划》"
DEFAULT_REQUIREMENTS = [
    # (category, position, 学时, basis)
    (MemberCategory.FULL.value, None, Decimal(32), REGULATION),
    (MemberCategory.PROBATIONARY.value, None, Decimal(32), REGULATION),
    (None, Position.SECRETARY.value, Decimal(56), PLAN),
    (None, Position.COMMITTEE.value, Decimal(56), PLAN),
]


# --- seconds <-> 学时 -------------------------------------------------------------------------------------

def seconds_per_unit() -> int:
    return int(current_app.config["MINUTES_PER_HOUR_UNIT"]) * 60


def to_units(seconds: int) -> Decimal:
    """Seconds as 学时 by the configured rule: ``"floor:0.5"``, ``"round:0.1"``, ``"ceil:1"``."""
    mode, _, step_text = str(current_app.config["HOUR_ROUNDING"]).partition(":")
    step = Decimal(step_text or "0.1")
    rounding = {"floor": ROUND_DOWN, "ceil": ROUND_UP}.get(mode, ROUND_HALF_UP)
    raw = Decimal(int(seconds)) / Decimal(seconds_per_unit())
    steps = (raw / step).quantize(Decimal(1), rounding=rounding)
    return (steps * step).normalize() if steps else Decimal(0)


def format_units(seconds: int) -> str:
    value = to_units(seconds)
    return f"{value:f}"


def units_to_seconds(units) -> int:
    return int((Decimal(str(units)) * seconds_per_unit()).to_integral_value(rounding=ROUND_HALF_UP))


def format_duration(seconds: int) -> str:
    """``1小时05分`` / ``12分30秒``: exact time, beside the 学时."""
    from flask_babel import gettext as _

    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return sign + _("%(h)d小时%(m)02d分", h=hours, m=minutes)
    return sign + _("%(m)d分%(s)02d秒", m=minutes, s=secs)


# --- the yearly requirement --------------------------------------------------------------------------------

def ensure_default_requirements() -> int:
    """Seed the national rules (every year) when the table holds no national row yet. Returns rows added."""
    added = 0
    for category, position, hours, basis in DEFAULT_REQUIREMENTS:
        exists = db.session.scalar(select(HourRequirement.id).where(
            HourRequirement.year.is_(None), HourRequirement.org_id.is_(None),
            HourRequirement.category.is_(None) if category is None else HourRequirement.category == category,
            HourRequirement.position.is_(None) if position is None else HourRequirement.position == position))
        if exists is None:
            db.session.add(HourRequirement(year=None, category=category, position=position, org_id=None,
                                           hours=hours, basis=basis))
            added += 1
    db.session.flush()
    return added


@dataclass
class Requirement:
    hours: Decimal
    basis: str

    @property
    def seconds(self) -> int:
        return units_to_seconds(self.hours)


def requirement_for(member: User, year: int) -> Requirement:
    """The most specific rule matching ``member`` in ``year``: a position rule beats one without, then the
    deepest organization override, then a rule for that year over one for every year, then a category."""
    org = member.organization
    org_ids = org.path_ids if org is not None else []
    positions = [p.value for p in member.positions]
    rows = db.session.scalars(select(HourRequirement).where(
        or_(HourRequirement.year.is_(None), HourRequirement.year == year),
        or_(HourRequirement.category.is_(None), HourRequirement.category == member.category.value),
        or_(HourRequirement.position.is_(None), HourRequirement.position.in_(positions or [""])),
        or_(HourRequirement.org_id.is_(None), HourRequirement.org_id.in_(org_ids or [0])))).all()
    if not rows:
        rows = [HourRequirement(year=None, category=c, position=p, org_id=None, hours=h, basis=b)
                for c, p, h, b in DEFAULT_REQUIREMENTS
                if (c is None or c == member.category.value) and (p is None or p in positions)]
    if not rows:
        return Requirement(Decimal(0), "")
    depth = {org_id: i for i, org_id in enumerate(org_ids)}

    def specificity(rule: HourRequirement):
        return (rule.position is not None, depth.get(rule.org_id, -1), rule.year is not None,
                rule.category is not None, rule.hours)

    best = max(rows, key=specificity)
    return Requirement(Decimal(best.hours), best.basis)


def required_seconds_for(member: User, year: int) -> int:
    return requirement_for(member, year).seconds


# --- a member's year ---------------------------------------------------------------------------------------

def year_bounds_utc(year: int) -> tuple[datetime, datetime]:
    tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])

    def start(y: int) -> datetime:
        return datetime.combine(date(y, 1, 1), time.min, tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    return start(year), start(year + 1)


def current_year() -> int:
    return clock.to_local(clock.utcnow(), current_app.config["DISPLAY_TIMEZONE"]).year


def _year_condition(user_id: int, year: int):
    start, end = year_bounds_utc(year)
    return (HourEntry.user_id == user_id) & (HourEntry.occurred_at >= start) & (HourEntry.occurred_at < end)


def earned_seconds(user_id: int, year: int) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(HourEntry.seconds), 0))
                                 .where(_year_condition(user_id, year))) or 0)


def year_summary(member: User, year: int) -> dict:
    """Required and earned seconds for ``year``, by source, by month (local) and by course."""
    condition = _year_condition(member.id, year)
    by_source = {source.value: 0 for source in HourSource}
    for source, seconds in db.session.execute(
            select(HourEntry.source, func.sum(HourEntry.seconds)).where(condition).group_by(HourEntry.source)):
        by_source[HourSource(source).value] = int(seconds or 0)
    # Months in local time: the shift from UTC is whole hours for Asia/Shanghai-like zones; done in Python
    # over (occurred_at, seconds) grouped by day so the query stays portable between SQLite and PostgreSQL.
    by_month = [0] * 12
    tz = current_app.config["DISPLAY_TIMEZONE"]
    rows = db.session.execute(select(HourEntry.occurred_at, HourEntry.seconds).where(condition)).all()
    for occurred_at, seconds in rows:
        by_month[clock.to_local(occurred_at, tz).month - 1] += int(seconds)
    course_rows = db.session.execute(
        select(Course.id, Course.title, func.sum(HourEntry.seconds))
        .join(Course, Course.id == HourEntry.course_id).where(condition)
        .group_by(Course.id, Course.title).order_by(func.sum(HourEntry.seconds).desc())).all()
    requirement = requirement_for(member, year)
    earned = sum(by_source.values())
    return {
        "year": year,
        "required_seconds": requirement.seconds,
        "required_hours": requirement.hours,
        "basis": requirement.basis,
        "earned_seconds": earned,
        "remaining_seconds": max(0, requirement.seconds - earned),
        "by_source": by_source,
        "by_month": by_month,
        "by_course": [{"course_id": cid, "title": title, "seconds": int(seconds or 0)}
                      for cid, title, seconds in course_rows],
    }


def members_earned(user_ids: list[int], year: int) -> dict[int, int]:
    """{user id: seconds earned in ``year``} for many members in one query (rosters, demo checks)."""
    if not user_ids:
        return {}
    start, end = year_bounds_utc(year)
    rows = db.session.execute(
        select(HourEntry.user_id, func.sum(HourEntry.seconds))
        .where(HourEntry.user_id.in_(user_ids), HourEntry.occurred_at >= start, HourEntry.occurred_at < end)
        .group_by(HourEntry.user_id)).all()
    return {uid: int(total or 0) for uid, total in rows}


def course_box_columns(user_id, course_id) -> tuple:
    """The course page's hours box as two scalar subqueries — the seconds credited on the course and its
    certificate's id — to select together with whatever else a page reads (``user_id``/``course_id``: values
    or bind parameters)."""
    seconds = select(func.coalesce(func.sum(HourEntry.seconds), 0)).where(
        HourEntry.user_id == user_id, HourEntry.course_id == course_id).scalar_subquery()
    certificate = select(Certificate.id).where(
        Certificate.user_id == user_id, Certificate.kind == "course", Certificate.course_id == course_id
    ).limit(1).scalar_subquery()
    return seconds, certificate


def course_box(course: Course, seconds, certificate_id, done: int, total: int) -> dict:
    """What ``learning/_course_hours.html`` shows: the credit rule, my time on the course, my progress and
    certificate."""
    return {"seconds": int(seconds or 0), "certificate_id": certificate_id, "done": done, "total": total,
            "finished": certificate_id is not None,
            "fixed": course.credit_mode == CreditMode.FIXED, "credit_hours": course.credit_hours}


# --- a member's record, one row per lecture per day --------------------------------------------------------

def local_date_sql(column):
    """SQL: the local date (display time zone) of a naive-UTC datetime column. PostgreSQL converts with the
    zone's rules; SQLite shifts by the zone's current UTC offset (Asia/Shanghai keeps one)."""
    zone = current_app.config["DISPLAY_TIMEZONE"]
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(zone, func.timezone("UTC", column)))
    offset = ZoneInfo(zone).utcoffset(clock.utcnow())
    return func.date(column, f"{int(offset.total_seconds()):+d} seconds")


def record_rows(user_id: int, year: int):
    """A member's ledger for ``year`` grouped as they read it: one row per local day, source, course, lecture
    (and note: each organizer's entry keeps its reason), newest first: day, source, course title, lecture
    title, note, seconds, entries. A SELECT to page (``db.paginate(..., scalars=False)``)."""
    start, end = year_bounds_utc(year)
    day = local_date_sql(HourEntry.occurred_at).label("day")
    return (select(day, HourEntry.source, Course.title.label("course_title"), Lecture.title.label("lecture_title"),
                   HourEntry.note, func.sum(HourEntry.seconds).label("seconds"),
                   func.count(HourEntry.id).label("entries"), func.max(HourEntry.occurred_at).label("last_at"))
            .outerjoin(Course, Course.id == HourEntry.course_id)
            .outerjoin(Lecture, Lecture.id == HourEntry.lecture_id)
            .where(HourEntry.user_id == user_id, HourEntry.occurred_at >= start, HourEntry.occurred_at < end)
            .group_by(day, HourEntry.source, HourEntry.course_id, Course.title, HourEntry.lecture_id, Lecture.title,
                      HourEntry.note)
            .order_by(day.desc(), func.max(HourEntry.occurred_at).desc()))


def hours_payload(member, year: int) -> dict:
    """A member's hours for ``year`` as the API and the hours page give them."""
    summary = year_summary(member, year)
    by_course = []
    for row in summary["by_course"]:
        done, total = course_progress(member.id, row["course_id"])
        by_course.append({**row, "hours": format_units(row["seconds"]), "lectures_completed": done,
                          "lectures_total": total})
    return {
        "year": year,
        "required_seconds": summary["required_seconds"],
        "earned_seconds": summary["earned_seconds"],
        "remaining_seconds": summary["remaining_seconds"],
        "required_hours": format_units(summary["required_seconds"]),
        "earned_hours": format_units(summary["earned_seconds"]),
        "minutes_per_hour_unit": current_app.config["MINUTES_PER_HOUR_UNIT"],
        "basis": summary["basis"],
        "by_source": summary["by_source"],
        "by_month": summary["by_month"],
        "by_course": by_course,
    }
