"""Bank import and export: the template, the preview naming every bad row, atomicity, round trips."""
import csv
import io
import re

from openpyxl import Workbook, load_workbook

from core.extensions import db
from quizzes import banks
from quizzes.importexport import COLUMNS, export_bank, import_rows, read_upload
from quizzes.models import QuestionKind
from tests.quiz_helpers import make_bank


def csv_bytes(rows, header=COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def row(kind, stem, options=(), answer="", explanation="", tags="", difficulty=""):
    opts = list(options) + [""] * (8 - len(options))
    return [kind, stem, *opts, answer, explanation, tags, difficulty]


GOOD = [
    row("单选", "党的根本宗旨是什么？", ["全心全意为人民服务", "发展经济"], "A", "党章总纲。", "党章", "易"),
    row("多选", "四个意识包括？", ["政治意识", "大局意识", "核心意识", "娱乐意识"], "ABC", "", "理论,党章", "难"),
    row("判断", "党员必须缴纳党费。", [], "正确", "", "党章", "中"),
    row("填空", "入党誓词中，要“永不____”。", [], "叛党|永不叛党", "入党誓词。", "", ""),
]


def test_clean_csv_imports_every_type(app):
    bank = banks.create_bank("导入测试")
    preview = read_upload(csv_bytes(GOOD), "bank.csv", bank)
    assert preview.errors == [] and len(preview.rows) == 4
    import_rows(bank, preview.rows)
    db.session.commit()
    questions = banks.bank_questions(bank.id)
    assert [q.kind for q in questions] == [QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.TRUE_FALSE,
                                          QuestionKind.BLANK]
    assert [o.text for o in questions[1].options if o.is_correct] == ["政治意识", "大局意识", "核心意识"]
    assert questions[1].tags == ["理论", "党章"]
    assert questions[3].accepted_answers == ["叛党", "永不叛党"]


def test_preview_names_every_bad_row_and_imports_nothing(app):
    bank = banks.create_bank("导入测试")
    rows = GOOD[:1] + [
        row("单选", "缺答案的题", ["甲", "乙"], ""),  # row 3
        row("问答", "未知题型", [], "随便"),  # row 4
        row("单选", "答案超出选项", ["甲", "乙"], "D"),  # row 5
        GOOD[0],  # row 6: duplicate of row 2
        row("多选", "", ["甲", "乙"], "A"),  # row 7: no stem
        row("判断", "判断题答案不对", [], "也许"),  # row 8
    ]
    preview = read_upload(csv_bytes(rows), "bank.csv", bank)
    reasons = {e.row: e.reason for e in preview.errors}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "缺少答案" in reasons[3]
    assert "未知题型" in reasons[4]
    assert "不在选项中" in reasons[5]
    assert "重复" in reasons[6] and "2" in reasons[6]
    assert "题干" in reasons[7]
    assert not preview.clean
    assert banks.bank_questions(bank.id) == []


def test_import_page_preview_then_confirm(app, client, auth, grid):
    bank = banks.create_bank("页面导入")
    db.session.commit()
    auth.login(grid["trainer"])
    bad = csv_bytes(GOOD + [row("单选", "缺答案的题", ["甲", "乙"], "")])
    page = client.post(f"/quizzes/banks/{bank.id}/import",
                       data={"file": (io.BytesIO(bad), "bank.csv")}, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "第 6 行" in html and "缺少答案" in html
    assert banks.bank_questions(bank.id) == []
    page = client.post(f"/quizzes/banks/{bank.id}/import",
                       data={"file": (io.BytesIO(csv_bytes(GOOD)), "bank.csv")}, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "党的根本宗旨是什么？" in html
    answers = re.findall(r'<td class="import-answer">([^<]*)</td>', html)  # the answers, not only the stems
    assert answers == ["全心全意为人民服务", "政治意识；大局意识；核心意识", "正确", "叛党 | 永不叛党"], answers
    assert banks.bank_questions(bank.id) == []  # a preview imports nothing
    token = html.split('name="payload" value="')[1].split('"')[0]
    done = client.post(f"/quizzes/banks/{bank.id}/import/confirm", data={"payload": token})
    assert done.status_code == 302
    db.session.expire_all()
    assert len(banks.bank_questions(bank.id)) == 4


def test_duplicate_of_a_question_already_in_the_bank(app):
    bank, _ = make_bank()
    preview = read_upload(csv_bytes([row("单选", "中国共产党成立于哪一年？", ["1921年", "1922年"], "A")]), "b.csv", bank)
    assert preview.errors[0].row == 2 and "已有题目重复" in preview.errors[0].reason


def test_wrong_header_is_refused(app):
    bank = banks.create_bank("x")
    preview = read_upload(csv_bytes([["a", "b"]], header=["名字", "电话"]), "b.csv", bank)
    assert preview.errors[0].row == 1 and "表头" in preview.errors[0].reason


def test_gbk_csv_from_chinese_excel_is_read(app):
    bank = banks.create_bank("x")
    data = csv_bytes(GOOD).decode("utf-8").encode("gb18030")
    assert read_upload(data, "bank.csv", bank).clean


def test_csv_round_trip_changes_nothing(app):
    bank = banks.create_bank("源")
    tricky = GOOD + [row("单选", "=1+1 等于几？", ["-2", "@2", "+2"], "C", "=不是公式", "算术", "中")]
    preview = read_upload(csv_bytes(tricky), "bank.csv", bank)
    assert preview.clean, preview.errors
    import_rows(bank, preview.rows)
    first = export_bank(bank, "csv")
    copy = banks.create_bank("副本")
    preview = read_upload(first, "export.csv", copy)
    assert preview.clean, preview.errors
    import_rows(copy, preview.rows)
    assert export_bank(copy, "csv") == first
    question = banks.bank_questions(copy.id)[-1]
    assert question.stem == "=1+1 等于几？" and [o.text for o in question.options] == ["-2", "@2", "+2"]


def test_csv_export_neutralises_formula_cells(app):
    bank = banks.create_bank("x")
    preview = read_upload(csv_bytes([row("单选", "=HYPERLINK(\"http://x\")", ["+1", "\t2"], "A")]), "b.csv", bank)
    import_rows(bank, preview.rows)
    text = export_bank(bank, "csv").decode("utf-8-sig")
    cells = list(csv.reader(io.StringIO(text)))[1]
    assert cells[1].startswith("'=") and cells[2] == "'+1"
    assert not any(c and c[0] in "=+-@\t\r" for c in cells)


def test_xlsx_round_trip_changes_nothing(app):
    bank, _ = make_bank()
    data = export_bank(bank, "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == COLUMNS
    copy = banks.create_bank("副本")
    preview = read_upload(data, "bank.xlsx", copy)
    assert preview.clean, preview.errors
    import_rows(copy, preview.rows)
    assert export_bank(copy, "csv") == export_bank(bank, "csv")


def test_xlsx_with_numbers_and_formula_text(app):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    sheet.append(row("单选", "党的一大在哪一年召开？", [1919, 1921], "B"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    bank = banks.create_bank("x")
    preview = read_upload(buffer.getvalue(), "b.xlsx", bank)
    assert preview.clean
    assert preview.rows[0][1].options == [("1919", False), ("1921", True)]


def test_damaged_xlsx_is_an_error_not_a_crash(app):
    bank = banks.create_bank("x")
    preview = read_upload(b"PK\x03\x04 not really", "b.xlsx", bank)
    assert preview.errors and preview.errors[0].row == 1


def test_cli_export_equals_the_download(app, runner, client, auth, grid, tmp_path):
    bank, _ = make_bank()
    target = tmp_path / "bank.csv"
    result = runner.invoke(args=["quizzes", "export-bank", str(bank.id), str(target)])
    assert result.exit_code == 0, result.output
    auth.login(grid["trainer"])
    download = client.get(f"/quizzes/banks/{bank.id}/export.csv")
    assert download.status_code == 200 and download.data == target.read_bytes()
