"""Exports for members' education files (党员教育培训档案): a summary (one row per member) and the ledger
(one row per entry), as CSV or XLSX. The web download and ``flask hours export`` both call ``build_export``,
so the same request gives the same bytes.

Both formats stream: rows come from the database in batches. CSV is UTF-8 with a BOM (Excel opens Chinese
correctly) and leaves in 64 KB chunks as the rows come; XLSX is the one streamed writer of every export
(``core.spreadsheets.xlsx_chunks``: its docstring gives the measurements that chose it).

Text cells starting with ``= + - @``, a tab or a carriage return get a leading apostrophe (CSV/formula
injection). Phone numbers are masked (138****1234) unless an admin asks for full numbers, which is logged
in ``PersonalDataAudit``.
"""
from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import String, and_, func, select, text, type_coerce

from accounts.models import MemberCategory, Organization, PersonalDataAudit, Position, User, UserPosition
from accounts.services import subtree_condition
from core import clock
from core.extensions import db
from core.spreadsheets import Number, Sheet, mask_phone, neutralise, xlsx_chunks
from courses.models import Course
from learning import hours
from reports import compliance
from learning.models import HourEntry, HourSource

# The record format is Chinese whatever the reader's interface language, so CLI and web give the same bytes.
CATEGORY_NAMES = {MemberCategory.FULL.value: "正式党员", MemberCategory.PROBATIONARY.value: "预备党员",
                  MemberCategory.ACTIVIST.value: "入党积极分子", MemberCategory.PUBLIC.value: "群众"}
POSITION_NAMES = {Position.SECRETARY.value: "书记", Position.COMMITTEE.value: "委员"}
SOURCE_NAMES = {HourSource.ONLINE.value: "线上学习", HourSource.OFFLINE.value: "线下课堂", HourSource.QUIZ.value: "测验",
                HourSource.COURSE.value: "课程学时", HourSource.MANUAL.value: "组织录入"}
STATUS_NAMES = {compliance.Status.MET.value: "已达标", compliance.Status.ON_TRACK.value: "进度正常",
                compliance.Status.BEHIND.value: "进度落后", compliance.Status.NOT_STARTED.value: "未开始",
                compliance.Status.NOT_REQUIRED.value: "不适用"}

BATCH = 2_000
KINDS = ("summary", "ledger", "reminders")
FORMATS = ("csv", "xlsx")


# --- what is exported ------------------------------------------------------------------------------------

@dataclass
class Column:
    title: str
    width: int  # characters, for XLSX (numbers are number cells by their values' type)


@dataclass
class ExportRequest:
    kind: str  # "summary", "ledger" or "reminders"
    fmt: str  # "csv" or "xlsx"
    root: Organization | None  # the subtree; None: everything (admins)
    period: compliance.Period
    basis: compliance.Basis = compliance.Basis.CURRENT
    filters: compliance.Filters = field(default_factory=compliance.Filters)
    full_phones: bool = False

    def filename(self) -> str:
        code = self.root.code if self.root is not None else "all"
        period = str(self.period.year) if self.period.is_whole_year else \
            f"{self.period.first:%Y%m%d}-{self.period.last:%Y%m%d}"
        return f"hours-{self.kind}-{code}-{period}.{self.fmt}"

    def describe(self) -> str:
        code = self.root.code if self.root is not None else "*"
        return (f"{self.kind} org={code} period={self.period.label()} basis={self.basis.value} "
                f"category={self.filters.category or ''} met={self.filters.met}")[:300]


@dataclass
class Export:
    filename: str
    mimetype: str
    chunks: Iterator[bytes]


MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def build_export(request: ExportRequest, *, actor: User | None = None, channel: str = "web") -> Export:
    """The export as a stream of bytes. Full phone numbers are logged here, before anything is produced;
    the caller commits (the web view and the CLI do, before streaming)."""
    if request.kind not in KINDS or request.fmt not in FORMATS:
        raise ValueError(f"unknown export {request.kind}/{request.fmt}")
    if request.full_phones:
        db.session.add(PersonalDataAudit(at=clock.utcnow(), actor_id=actor.id if actor else None,
                                         action=f"export:{request.kind}:full_phones", scope=request.describe(),
                                         channel=channel))
        db.session.flush()
    if request.kind == "ledger":
        columns, rows = ledger_table(request)
    else:
        columns, rows = summary_table(request)
    if request.fmt == "csv":
        chunks = csv_stream(columns, rows)
    else:
        chunks = xlsx_chunks([Sheet(sheet_title(request.kind), [c.title for c in columns],
                                    itertools.chain.from_iterable(rows), [c.width for c in columns])])
    return Export(request.filename(), MIMETYPES[request.fmt], chunks)


def sheet_title(kind: str) -> str:
    return {"summary": "学时汇总", "ledger": "学时明细", "reminders": "学时提醒"}[kind]


class OrgLabels(dict):
    """"街道1 / 社区11" (neutralised) for the materialized path of an organization of the subtree, from one query of
    the subtree's organizations; ``labels[path]``, remembered."""

    def __init__(self, root: Organization | None):
        super().__init__()
        stmt = select(Organization.id, Organization.name)
        if root is not None:
            stmt = stmt.where(subtree_condition(root))
        self.names = dict(db.session.execute(stmt).all())

    def __missing__(self, path: str) -> str:
        label = self[path] = text_cell(" / ".join(self.names[int(i)] for i in path.strip("/").split("/")
                                                  if int(i) in self.names))
        return label

    __call__ = dict.__getitem__


def positions_of(root: Organization | None) -> dict[int, str]:
    stmt = select(UserPosition.user_id, UserPosition.position).join(User, User.id == UserPosition.user_id)
    if root is not None:
        stmt = stmt.join(Organization, Organization.id == User.organization_id).where(subtree_condition(root))
    found: dict[int, list[str]] = {}
    for user_id, position in db.session.execute(stmt):
        found.setdefault(user_id, []).append(POSITION_NAMES.get(getattr(position, "value", position), ""))
    return {user_id: "、".join(sorted(names)) for user_id, names in found.items()}


class Units(dict):
    """Seconds as 学时 ("1.5", a number cell in XLSX), by the configured rounding: ``units[seconds]``, remembered,
    as the same values recur."""

    def __missing__(self, seconds) -> str:
        text = self[seconds] = Number(f"{hours.to_units(int(seconds or 0)):f}")
        return text


def text_cell(value) -> str:
    """A text cell: neutralised, and "" for nothing."""
    return neutralise(str(value)) if value else ""


def stream_rows(stmt, convert) -> Iterator[list]:
    """The statement's rows in batches, each through ``convert``. The statements type their columns so that the
    driver's own values are the ones wanted (text for enums and formatted times). SQLite: straight from the DBAPI
    cursor, no SQLAlchemy row objects. PostgreSQL: a server-side cursor, read through SQLAlchemy (which holds the
    first row it fetched to learn the columns)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # no JIT (see compliance.without_jit); plan for the whole result, not its first tenth (a cursor's default)
        connection.exec_driver_sql("SET LOCAL jit = off")
        connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        # options on the statement: Connection.execution_options() would change the connection itself for every
        # later statement of the transaction (a savepoint's ROLLBACK run as a server-side cursor)
        result = connection.execute(stmt.execution_options(stream_results=True, max_row_buffer=BATCH))
        try:
            for batch in result.partitions(BATCH):
                yield list(map(convert, batch))
        finally:
            result.close()
        return
    result = connection.execute(stmt)
    try:
        fetch = result.cursor.fetchmany
        while batch := fetch(BATCH):
            yield list(map(convert, batch))
    finally:
        result.close()


SUMMARY_COLUMNS = ([Column("组织", 36), Column("姓名", 10), Column("手机号", 14), Column("人员类别", 12), Column("职务", 10),
                    Column("应修学时", 10)] + [Column(SOURCE_NAMES[s], 10) for s in compliance.SOURCES]
                   + [Column("合计学时", 10), Column("是否达标", 8), Column("学习进度", 10)])


def summary_sql(request: ExportRequest):
    """One row per member: org_path, user_id, name, phone, category, required, the sources, earned (and status,
    when a filter on it makes the database compute it)."""
    filters = request.filters
    if request.kind == "reminders":  # members behind schedule: not started or behind
        filters = compliance.Filters(category=filters.category)
    if request.kind == "summary" and filters.met is None and filters.status is None:
        # no filter on the status: a plain SELECT, each column computed once; the status is computed here
        stmt = compliance.members_select(request.root, request.period, request.basis, filters)
    else:
        stmt = compliance.member_rows(request.root, request.period, request.basis, filters)
        if request.kind == "reminders":
            sub = stmt.subquery("m")
            stmt = select(sub).where(sub.c.status.in_([compliance.Status.BEHIND.value,
                                                        compliance.Status.NOT_STARTED.value]))
    c = stmt.selected_columns
    return stmt.with_only_columns(c.org_path, c.user_id, c.name, c.phone, type_coerce(c.category, String),
                                  c.required, *[c[s] for s in compliance.SOURCES], c.earned
                                  ).order_by(c.org_path, c.user_id)


def summary_table(request: ExportRequest):
    stmt = summary_sql(request)
    labels = OrgLabels(request.root).__getitem__  # before the stream, which may run after the ORM objects expired
    positions = positions_of(request.root).get
    units = Units().__getitem__
    phone = text_cell if request.full_phones else mask_phone
    categories = {**CATEGORY_NAMES, None: ""}
    basis_points = request.period.basis_points()
    met, not_started, on_track, behind = (s.value for s in (compliance.Status.MET, compliance.Status.NOT_STARTED,
                                                             compliance.Status.ON_TRACK, compliance.Status.BEHIND))
    not_required = compliance.Status.NOT_REQUIRED.value
    met_labels = {met: ("是", STATUS_NAMES[met]), not_started: ("否", STATUS_NAMES[not_started]),
                  on_track: ("否", STATUS_NAMES[on_track]), behind: ("否", STATUS_NAMES[behind]),
                  not_required: ("不适用", STATUS_NAMES[not_required])}

    def convert(row) -> list:
        path, user_id, name, phone_number, category, *numbers = row  # required, the sources, earned
        earned, required = numbers[-1], numbers[0]
        # compliance.classify, inlined: a hundred thousand calls
        status = not_required if required <= 0 else met if earned >= required else not_started if earned <= 0 else \
            on_track if earned * 10000 >= required * basis_points else behind
        return [labels(path), text_cell(name), phone(phone_number), categories.get(category, category),
                positions(user_id, ""), *map(units, numbers), *met_labels[status]]

    return SUMMARY_COLUMNS, stream_rows(stmt, convert)


def local_time_sql(column, period: compliance.Period):
    """The local time of a naive-UTC column as text "YYYY-MM-DD HH:MM:SS", written by the database when the
    display zone keeps one UTC offset over the period's years (no daylight saving: Asia/Shanghai); else None."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    offsets = {zone.utcoffset(datetime(y, m, 1)) for y in range(period.year - 1, period.last.year + 2)
               for m in range(1, 13)}
    if len(offsets) != 1:
        return None
    minutes = int(offsets.pop().total_seconds() // 60)
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column + text(f"INTERVAL '{minutes} minutes'"), "YYYY-MM-DD HH24:MI:SS")
    return func.strftime("%Y-%m-%d %H:%M:%S", column, f"{minutes:+d} minutes")


LEDGER_COLUMNS = [Column("组织", 36), Column("姓名", 10), Column("手机号", 14), Column("时间", 20), Column("来源", 10),
                  Column("学时", 8), Column("秒数", 10), Column("课程", 30), Column("来源记录", 24),
                  Column("说明", 30)]


def ledger_sql(request: ExportRequest):
    """One row per entry: org_path, name, phone, local time (text, or the naive-UTC datetime when the zone
    changes its offset), source, seconds, course title, source_ref, note."""
    start, end = request.period.bounds_utc()
    user_id, org_id, since, until = compliance.placement(request.basis, start, end)
    conditions = [HourEntry.occurred_at >= start, HourEntry.occurred_at < end, User.is_active_flag.is_(True)]
    if request.basis == compliance.Basis.AT_THE_TIME:
        conditions.append(compliance.within_stretch(HourEntry.occurred_at, since, until))
    if request.root is not None:
        conditions.append(subtree_condition(request.root))
    if request.filters.category:
        conditions.append(User.category == request.filters.category)
    local_time = local_time_sql(HourEntry.occurred_at, request.period)
    stmt = (select(Organization.path, User.name, User.phone,
                   type_coerce(local_time, String) if local_time is not None else HourEntry.occurred_at,
                   type_coerce(HourEntry.source, String), HourEntry.seconds, Course.title, HourEntry.source_ref,
                   HourEntry.note)
            .select_from(user_id.table)
            .join(User, User.id == user_id)
            .join(Organization, Organization.id == org_id)
            .join(HourEntry, HourEntry.user_id == user_id)
            .outerjoin(Course, Course.id == HourEntry.course_id)
            .where(and_(*conditions))
            .order_by(Organization.path, User.id, HourEntry.occurred_at, HourEntry.id))
    return stmt


def ledger_table(request: ExportRequest):
    stmt = ledger_sql(request)
    local_time = local_time_sql(HourEntry.occurred_at, request.period)
    labels = OrgLabels(request.root).__getitem__
    tz = current_app.config["DISPLAY_TIMEZONE"]
    units = Units().__getitem__
    phone = text_cell if request.full_phones else mask_phone
    sources = {**SOURCE_NAMES}

    def when(value) -> str:
        return clock.to_local(value, tz).strftime("%Y-%m-%d %H:%M:%S")

    person = [None, None, ("", "")]  # the last member's raw name and phone, and their cells: rows come by member

    def convert(row) -> list:
        path, name, phone_number, occurred_at, source, seconds, title, ref, note = row
        if name != person[0] or phone_number != person[1]:
            person[:] = name, phone_number, (text_cell(name), phone(phone_number))
        return [labels(path), *person[2], occurred_at if local_time is not None else when(occurred_at),
                sources.get(source, source), units(seconds), seconds, text_cell(title) if title else "",
                text_cell(ref), text_cell(note) if note else ""]

    return LEDGER_COLUMNS, stream_rows(stmt, convert)


# --- CSV ---------------------------------------------------------------------------------------------------------

CHUNK_BYTES = 64 * 1024


def csv_stream(columns: list[Column], batches: Iterable[list[list]]) -> Iterator[bytes]:
    """UTF-8 with a BOM, CRLF line ends; the rows leave in chunks of about 64 KB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.title for c in columns])
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for batch in batches:
        writer.writerows(batch)
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def write_to(export: Export, fh) -> int:
    """Write an export to an open binary file (the CLI); returns the bytes written."""
    total = 0
    for chunk in export.chunks:
        fh.write(chunk)
        total += len(chunk)
    return total

