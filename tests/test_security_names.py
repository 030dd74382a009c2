"""Names with control characters (finding 8): refused in every name field; every XLSX writer strips what XML
cannot hold, so a name stored before (or by another path) never breaks an export."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from accounts.models import User
from core.extensions import db
from core.text import is_clean_name, single_line, xlsx_cell
from quizzes import services as quiz_services
from tests.quiz_helpers import correct_responses, make_bank, make_quiz
from tests.test_accounts_manage_import import HEADER, login, upload

BAD_NAMES = ["张\x00三", "李\x07四", "王\r\n五", "\ufeff", " \u200b ", "赵\x1b[31m六"]


def test_clean_names_and_cells():
    assert all(not is_clean_name(n) for n in BAD_NAMES)
    assert is_clean_name("欧阳·娜娜") and is_clean_name("O'Brien Smith")
    assert single_line("第一讲\r\n\t党章\x00") == "第一讲 党章"
    assert xlsx_cell("李\x07四\x00") == "李四" and xlsx_cell(3) == 3


@pytest.mark.parametrize("name", BAD_NAMES)
def test_register_refuses_names_with_control_characters(client, name):
    response = client.post("/register", data={"name": name, "phone": "13812345678", "password": "good-password-1",
                                              "confirm": "good-password-1"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13812345678")) == 0


def test_admin_and_organizer_forms_refuse_them(client, grid, auth):
    auth.login(grid["admin"])
    response = client.post("/admin/users/new", data={"name": "李\x07四", "phone": "13812345679", "role": "member",
                                                      "org_code": "R-1-1", "category": "full",
                                                      "password": "good-password-1"})
    assert "不能包含控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13812345679")) == 0
    member = grid["members"]["R-1-1"][0]
    client.post(f"/members/{member.id}/edit", data={"name": "王\x00五", "phone": member.phone, "category": "full"})
    db.session.expire_all()
    assert "\x00" not in db.session.get(User, member.id).name


def test_the_member_import_names_the_bad_row(client, grid):
    login(client, grid["street_organizer"])
    page = upload(client, (HEADER + "李\x07四,13711110001,R-1-1,正式党员,\n").encode("utf-8")).get_data(as_text=True)
    assert "控制字符" in page
    assert db.session.scalar(select(func.count(User.id)).where(User.phone == "13711110001")) == 0


def test_the_trainers_results_export_survives_a_stored_control_character(app, client, auth, grid):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs)
    member = grid["members"]["R-1-1"][0]
    member.name = "李\x07四\x0b"  # written before names were checked (PostgreSQL cannot hold NUL at all)
    attempt, _ = quiz_services.start_attempt(quiz, member)
    for position, response in correct_responses(attempt).items():
        quiz_services.save_answer(attempt, position, response)
    quiz_services.submit_attempt(attempt)
    db.session.commit()
    auth.login(grid["trainer"])
    download = client.get(f"/quizzes/{quiz.id}/results.xlsx")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(download.data)).active
    assert sheet["A2"].value == "李四"


def test_the_hours_export_survives_it_too(app, client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    member.name = "王\x0b五"
    db.session.commit()
    auth.login(grid["admin"])
    response = client.get("/reports/export?kind=summary&format=xlsx", buffered=True)
    assert response.status_code == 200
    cells = {c for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True) for c in row}
    assert "王五" in cells
