"""The class workbook: five sheets that agree with the progress board; the CLI writes the same bytes."""
import io
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from core import clock
from core.extensions import db
from classes import services
from classes.exports import export_class_workbook
from core.spreadsheets import neutralise
from learning.hours import to_units
from tests.classes_helpers import add_session, attend, make_class, make_exam, sit_exam

AFTER = datetime(2026, 3, 25, 2, 0)


@pytest.fixture
def graduated(app, grid, make_member, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: AFTER)
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    members = grid["members"][community.code] + [make_member(community, name="=HYPERLINK(\"http://x\")")]
    training_class = make_class(organizer, community)
    services.add_roster_members(training_class, members, organizer)
    exam = make_exam("结业考试")
    services.add_exam_item(training_class, exam, organizer)
    sessions = [add_session(training_class, organizer, day, title=f"第{n}讲") for n, day in ((1, 3), (2, 5), (3, 10))]
    services.set_graduation_rules(training_class, organizer, min_attendance_percent=60, exam_pass=True,
                                  min_hours_seconds=4 * 3600)
    db.session.commit()
    for s in sessions:
        attend(s, members[0], organizer)
    attend(sessions[0], members[1], organizer)
    attend(sessions[1], members[2], organizer)
    sit_exam(members[0], exam, 88)
    sit_exam(members[1], exam, 45)
    services.graduate(training_class, organizer)
    db.session.commit()
    return training_class, members


def read(training_class):
    buffer = io.BytesIO()
    export_class_workbook(training_class, buffer)
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue())), buffer.getvalue()


def rows_of(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_sheets_agree_with_the_progress_board(graduated):
    training_class, members = graduated
    book, _ = read(training_class)
    assert book.sheetnames == ["名单", "考勤", "考试成绩", "学时", "结业"]
    board = services.board(training_class)
    by_name = {neutralise(row.user.name): row for row in board.rows}  # as the sheets show names

    attendance = rows_of(book["考勤"])
    assert attendance[0][1:4] == ["03-03 09:00 第1讲", "03-05 09:00 第2讲", "03-10 09:00 第3讲"]
    for line in attendance[1:]:
        row = by_name[line[0]]
        marks = ["✓" if (row.user.id, s.id) in board.attendance else "缺" for s in board.sessions]
        assert line[1:4] == marks and line[4] == row.attended and line[5] == row.sessions_counted

    scores = {line[0]: line[1:] for line in rows_of(book["考试成绩"])[1:]}
    assert scores[members[0].name] == [88, "是"] and scores[members[1].name] == [45, "否"]
    assert scores[neutralise(members[2].name)] == [None, "未参加"]

    hours = {line[0]: line[1] for line in rows_of(book["学时"])[1:]}
    assert {name: Decimal(str(v)) for name, v in hours.items()} == {
        name: to_units(row.hours_seconds) for name, row in by_name.items()}

    results = rows_of(book["结业"])
    header = results[0]
    assert header[:4] == ["姓名", "出勤率（实际）", "出勤率（要求）", "出勤率是否达标"]
    for line in results[1:]:
        row = by_name[line[0]]
        data = dict(zip(header, line))
        assert data["出勤率（实际）"] == row.rule("attendance").value
        assert data["结业情况"] == ("已结业" if row.graduated else "未结业")
        assert data["证书编号"] == (row.certificate.number if row.certificate else None)
    graduated_names = [line[0] for line in results[1:] if line[header.index("结业情况")] == "已结业"]
    assert graduated_names == [members[0].name]
    missed = {line[0]: line[header.index("未达标项")] for line in results[1:]}
    assert missed[members[1].name] == "出勤率、考试合格、班期内学时"


def test_headers_frozen_numbers_as_numbers_and_formulas_neutralised(graduated):
    training_class, members = graduated
    book, _ = read(training_class)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.b
    roster = rows_of(book["名单"])
    assert roster[0] == ["序号", "姓名", "手机号", "所属组织", "类别", "报名方式", "状态", "加入时间"]
    names = [line[1] for line in roster[1:]]
    assert "'=HYPERLINK(\"http://x\")" in names  # shown as text, never run as a formula
    assert all(isinstance(line[0], int) for line in roster[1:])
    assert all("****" in line[2] for line in roster[1:])  # phones masked by default
    numeric = [book["考勤"].cell(row=2, column=c) for c in (5, 6, 7)] + [book["学时"]["B2"], book["考试成绩"]["B2"]]
    assert all(cell.data_type == "n" and cell.value is not None for cell in numeric)


def test_cli_writes_the_same_bytes(graduated, runner, tmp_path):
    training_class, _members = graduated
    _, expected = read(training_class)
    target = tmp_path / "class.xlsx"
    result = runner.invoke(args=["classes", "export", str(training_class.id), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == expected
    assert runner.invoke(args=["classes", "export", "9999", "-o", str(target)]).exit_code != 0


def test_cli_lists_types_and_classes(app, runner, grid):
    types = runner.invoke(args=["classes", "types"])
    assert types.exit_code == 0 and "入党积极分子培训班" in types.output and "公开课/广场宣讲" in types.output
    community = grid["communities"][0]
    from tests.classes_helpers import make_class as new_class

    new_class(grid[f"organizer_{community.code}"], community, capacity=30)
    listing = runner.invoke(args=["classes", "list"])
    assert listing.exit_code == 0 and "2026年第一期入党积极分子培训班" in listing.output and "0/30" in listing.output
