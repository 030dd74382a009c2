"""One XLSX workbook per class (openpyxl, write-only): 名单, 考勤, 考试成绩, 学时, 结业.

Every sheet but the roster is read from the progress board (graduation.board), so the workbook and the
page agree. Chinese headers, a bold frozen header row, numbers as numbers, text that a spreadsheet would
run as a formula neutralised (learning.exports.neutralise). The page and ``flask classes export`` call
``export_class_workbook``; the archive's timestamps are fixed, so both give the same bytes.
"""
from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from decimal import Decimal

from flask import current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from core import clock
from core.text import xlsx_cell
from learning.classes.graduation import Board, Standing, board, rule_label
from learning.classes.models import EnrolmentMode, ParticipantStatus, TrainingClass
from learning.classes.services import participants
from learning.exports import mask_phone, neutralise
from learning.hours import to_units

FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # zip entry times: the same bytes whenever exported
CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")

STATUS_NAMES = {ParticipantStatus.APPLIED: "待审核", ParticipantStatus.APPROVED: "已录取",
                ParticipantStatus.REJECTED: "未通过", ParticipantStatus.WITHDRAWN: "已退出"}
MODE_NAMES = {EnrolmentMode.ROSTER: "组织指定", EnrolmentMode.APPLICATION: "申请审核", EnrolmentMode.OPEN: "自主报名"}
CATEGORY_NAMES = {"full": "正式党员", "probationary": "预备党员", "activist": "入党积极分子", "public": "群众"}


def _text(value: str) -> str:
    return neutralise(xlsx_cell(value or ""))


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = clock.to_local(value, current_app.config["DISPLAY_TIMEZONE"])
    return local.strftime(fmt) if local else ""


class _Sheet:
    def __init__(self, book: Workbook, title: str, headers: list[str], widths: list[int] | None = None):
        self.ws = book.create_sheet(title)
        self.ws.freeze_panes = "A2"
        for index, width in enumerate(widths or [], start=1):
            self.ws.column_dimensions[_column_letter(index)].width = width
        bold = Font(bold=True)
        row = []
        for header in headers:
            cell = WriteOnlyCell(self.ws, value=_text(header))
            cell.font = bold
            row.append(cell)
        self.ws.append(row)

    def append(self, values: list) -> None:
        self.ws.append([self._value(v) for v in values])

    @staticmethod
    def _value(value):
        if value is None:
            return None
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, (int, float, Decimal)):
            return value
        return _text(str(value))


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def session_header(session) -> str:
    return f"{_local(session.starts_at, '%m-%d %H:%M')} {session.title}"


def result_name(row: Standing) -> str:
    if row.graduated:
        return "已结业"
    if row.graduated is False:
        return "未结业"
    if row.meets_all:
        return "已达到结业条件"
    return "有风险" if row.at_risk else "进行中"


def rule_value(key: str, value) -> object:
    """A rule's value as the sheet shows it: 学时 for hours, a number otherwise."""
    return to_units(int(value)) if key == "hours" else value


def _roster(book: Workbook, training_class: TrainingClass, full_phones: bool) -> None:
    sheet = _Sheet(book, "名单", ["序号", "姓名", "手机号", "所属组织", "类别", "报名方式", "状态", "加入时间"],
                   [6, 12, 16, 24, 14, 12, 10, 18])
    for number, p in enumerate(participants(training_class), start=1):
        user = p.user
        sheet.append([number, user.name, user.phone if full_phones else mask_phone(user.phone),
                      user.organization.name if user.organization else "",
                      CATEGORY_NAMES.get(user.category.value, ""), MODE_NAMES[p.source], STATUS_NAMES[p.status],
                      _local(p.created_at)])


def _attendance(book: Workbook, data: Board) -> None:
    headers = ["姓名", *[session_header(s) + ("（已取消）" if s.is_cancelled else "") for s in data.sessions],
               "出勤次数", "应出勤次数", "出勤率(%)"]
    sheet = _Sheet(book, "考勤", headers, [12, *[16] * len(data.sessions), 10, 12, 10])
    for row in data.rows:
        uid = row.user.id
        marks = ["取消" if s.is_cancelled else ("✓" if (uid, s.id) in data.attendance else "缺") for s in data.sessions]
        share = round(row.attended * 100 / row.sessions_counted, 1) if row.sessions_counted else None
        sheet.append([row.user.name, *marks, row.attended, row.sessions_counted, share])


def _exams(book: Workbook, data: Board) -> None:
    headers = ["姓名"]
    for item in data.exams:
        headers += [f"{item.title} 最高分(%)", f"{item.title} 是否合格"]
    sheet = _Sheet(book, "考试成绩", headers, [12, *[18, 12] * len(data.exams)])
    for row in data.rows:
        values: list = [row.user.name]
        for item in data.exams:
            score = data.exam_scores.get((row.user.id, item.quiz_id))
            values += [score, (row.user.id, item.quiz_id) in data.exam_passed if score is not None else "未参加"]
        sheet.append(values)


def _hours(book: Workbook, data: Board) -> None:
    tc = data.training_class
    required = to_units(tc.rule_min_hours_seconds) if tc.rule_min_hours_seconds is not None else None
    sheet = _Sheet(book, "学时", ["姓名", "班期内学时", "结业要求学时", "班期"], [12, 12, 14, 24])
    period = f"{tc.starts_on:%Y-%m-%d} 至 {tc.ends_on:%Y-%m-%d}"
    for row in data.rows:
        sheet.append([row.user.name, to_units(row.hours_seconds), required, period])


def _results(book: Workbook, data: Board) -> None:
    headers = ["姓名"]
    for key in data.rule_keys:
        headers += [f"{rule_label(key)}（实际）", f"{rule_label(key)}（要求）", f"{rule_label(key)}是否达标"]
    headers += ["结业情况", "未达标项", "证书编号", "证书状态"]
    sheet = _Sheet(book, "结业", headers, [12, *[14, 14, 12] * len(data.rule_keys), 14, 24, 30, 10])
    for row in data.rows:
        values: list = [row.user.name]
        for key in data.rule_keys:
            rule = row.rule(key)
            values += ([rule_value(key, rule.value), rule_value(key, rule.threshold), rule.met] if rule
                       else [None, None, None])
        certificate = row.certificate
        values += [result_name(row), "、".join(rule_label(k) for k in row.missed),
                   certificate.number if certificate else "",
                   ("已撤销" if certificate.is_revoked else "有效") if certificate else ""]
        sheet.append(values)



def _normalise(raw: bytes) -> bytes:
    """Rewrite the archive with fixed entry times and document dates: the same bytes for the same data."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = CORE_TIMES.sub(rb"\g<1>2000-01-01T00:00:00Z\g<3>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, data)
    return buffer.getvalue()


def workbook_bytes(training_class: TrainingClass, *, full_phones: bool = False, now: datetime | None = None) -> bytes:
    data = board(training_class, now)
    book = Workbook(write_only=True)
    _roster(book, training_class, full_phones)
    _attendance(book, data)
    _exams(book, data)
    _hours(book, data)
    _results(book, data)
    raw = io.BytesIO()
    book.save(raw)
    return _normalise(raw.getvalue())


def export_class_workbook(training_class: TrainingClass, out, *, full_phones: bool = False,
                          now: datetime | None = None) -> int:
    """Write the class workbook to ``out`` (a binary file); returns the bytes written. Phones are masked
    unless ``full_phones``. The caller checks that the user may manage the class."""
    data = workbook_bytes(training_class, full_phones=full_phones, now=now)
    out.write(data)
    return len(data)


def workbook_filename(training_class: TrainingClass) -> str:
    return f"培训班-{training_class.id}-{training_class.starts_on:%Y%m%d}.xlsx"
