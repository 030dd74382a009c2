"""Spreadsheet imports cap what they hold and show (finding 10): a huge cell is named, never echoed; a
workbook that inflates too far is refused before it is opened; rows are capped."""
from __future__ import annotations

import io

from openpyxl import Workbook

from quizzes import importexport
from quizzes.importexport import COLUMNS
from tests.quiz_helpers import make_bank
from tests.test_accounts_manage_import import login as login_member_importer
from tests.test_accounts_manage_import import upload as upload_members
from tests.test_quizzes_importexport import row


def xlsx(rows, header=COLUMNS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_bank_import_preview_never_echoes_a_huge_cell(app, client, auth, grid):
    bank, _ = make_bank()
    huge = "党" * 200_000  # one shared string, used in 30 rows: the old preview showed it 30 times (18 MB)
    data = xlsx([row("单选题" + huge, huge, ["甲", "乙"], "A") for _ in range(30)]
                + [row("单选", "党的根本宗旨是什么？", ["全心全意为人民服务", "发展经济"], "A")])
    assert len(data) < 100_000
    auth.login(grid["trainer"])
    response = client.post(f"/quizzes/banks/{bank.id}/import", data={"file": (io.BytesIO(data), "bank.xlsx")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, page[-3000:])
    assert len(page) < 100_000
    assert page.count("内容过长") == 30 and "党党党党党" not in page


def test_a_workbook_inflating_too_far_is_refused_unopened(app):
    bank, _ = make_bank()
    data = xlsx([row("单选", "甲" * 30_000 + str(i), ["甲", "乙"], "A") for i in range(250)])
    assert len(data) < 1_000_000
    preview = importexport.read_upload(data, "bank.xlsx", bank)
    assert not preview.rows and "解压后过大" in preview.errors[0].reason


def test_csv_rows_and_cells_are_capped(app):
    bank, _ = make_bank()
    lines = "\n".join(["单选,题干{0},甲,乙,,,,,,,A,,,".format(i) for i in range(importexport.MAX_ROWS + 50)])
    header = ",".join(COLUMNS)
    preview = importexport.read_upload((header + "\n" + lines).encode(), "bank.csv", bank)
    assert preview.errors and "最多导入" in preview.errors[0].reason
    long_field = (header + "\n单选," + "甲" * 200_000 + ",甲,乙,,,,,,,A,,,\n").encode()
    preview = importexport.read_upload(long_field, "bank.csv", bank)
    assert not preview.rows and len(preview.errors[0].reason) < 200


def test_the_member_import_refuses_a_workbook_inflating_too_far(client, grid):
    login_member_importer(client, grid["street_organizer"])
    data = xlsx([["甲" * 30_000 + str(i), f"137{i:08d}", "R-1-1", "正式党员", ""] for i in range(250)],
                header=["姓名", "手机号", "组织编码", "人员类别", "职务"])
    page = upload_members(client, data, "members.xlsx").get_data(as_text=True)
    assert "解压后过大" in page and len(page) < 100_000
