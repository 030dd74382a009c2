"""Question banks to and from XLSX and CSV, in one template trainers keep in Excel.

The template (first sheet of an XLSX, or a UTF-8 CSV; GB18030 CSVs saved by Chinese Excel are read too),
one question per row under this header row:

    题型 | 题干 | 选项A … 选项H | 答案 | 解析 | 标签 | 难度

- 题型: 单选, 多选, 判断 or 填空.
- 选项A…选项H: the choices in order (choice questions; at least two; leave the rest empty).
- 答案: 单选 one letter (``B``); 多选 the letters (``ACD``, commas and spaces allowed); 判断 ``正确`` or
  ``错误`` (also 对/错, √/×, T/F); 填空 the accepted answers separated by ``|`` (``中央委员会|中共中央委员会``).
- 解析: the explanation shown after review; 标签: comma-separated (``党章,党史``); 难度: 易, 中 or 难
  (empty: 中).

Import is a preview first: every bad row is listed with its row number and reason (missing answer, unknown
type, answer not among options, duplicate ...) and nothing is imported until the whole file is clean.
Export writes the same template, so exporting, importing into an empty bank and exporting again gives
the same file. CSV cells that a spreadsheet would run as a formula (starting with = + - @ tab or CR) are
written with a leading apostrophe, which import removes again.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from core.storage import zip_inflated_size
from core.spreadsheets import Sheet, xlsx_bytes
from quizzes import banks, grading
from quizzes.models import Difficulty, Question, QuestionBank, QuestionKind
from quizzes.banks import QuestionData

LETTERS = "ABCDEFGH"
OPTION_COLUMNS = [f"选项{letter}" for letter in LETTERS]
COLUMNS = ["题型", "题干", *OPTION_COLUMNS, "答案", "解析", "标签", "难度"]
KIND_LABELS = {QuestionKind.SINGLE: "单选", QuestionKind.MULTIPLE: "多选", QuestionKind.TRUE_FALSE: "判断",
               QuestionKind.BLANK: "填空"}
KINDS_BY_LABEL = {label: kind for kind, label in KIND_LABELS.items()} | {
    "单选题": QuestionKind.SINGLE, "多选题": QuestionKind.MULTIPLE, "判断题": QuestionKind.TRUE_FALSE,
    "填空题": QuestionKind.BLANK}
DIFFICULTY_LABELS = {Difficulty.EASY: "易", Difficulty.MEDIUM: "中", Difficulty.HARD: "难"}
DIFFICULTIES_BY_LABEL = {label: d for d, label in DIFFICULTY_LABELS.items()} | {
    "简单": Difficulty.EASY, "容易": Difficulty.EASY, "中等": Difficulty.MEDIUM, "一般": Difficulty.MEDIUM,
    "困难": Difficulty.HARD, "较难": Difficulty.HARD, "": Difficulty.MEDIUM}
TRUE_WORDS = {"正确", "对", "√", "T", "TRUE", "是", "Y"}
FALSE_WORDS = {"错误", "错", "×", "X", "F", "FALSE", "否", "N"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 5000
MAX_CELL = 5000  # characters in one cell (a long stem or explanation fits)
MAX_INFLATED_BYTES = 20 * 2**20  # an XLSX's declared inflated size


class RowProblem(Exception):
    pass


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    reason: str


@dataclass
class Preview:
    rows: list[tuple[int, QuestionData]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    cells: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # the clean rows as read

    @property
    def clean(self) -> bool:
        return not self.errors and bool(self.rows)


def cell_text(value: object) -> str:
    """A spreadsheet cell as text: numbers without a trailing .0, a neutralising apostrophe removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and text[1:2] and text[1:2] in "".join(FORMULA_STARTS):
        return text[1:]
    return text


def parse_row(cells: dict[str, str]) -> QuestionData:
    """One template row (column name → text) as a question; RowProblem names what is wrong."""
    label = cells.get("题型", "")
    kind = KINDS_BY_LABEL.get(label)
    if kind is None:
        raise RowProblem(_("未知题型“%(kind)s”（应为单选、多选、判断或填空）", kind=label) if label
                         else _("缺少题型"))
    stem = cells.get("题干", "")
    if not stem:
        raise RowProblem(_("缺少题干"))
    answer = cells.get("答案", "").strip()
    if not answer:
        raise RowProblem(_("缺少答案"))
    difficulty = DIFFICULTIES_BY_LABEL.get(cells.get("难度", ""))
    if difficulty is None:
        raise RowProblem(_("未知难度“%(value)s”（应为易、中或难）", value=cells.get("难度", "")))
    tags = [t.strip() for t in re.split(r"[,，、;；]", cells.get("标签", "")) if t.strip()]
    options: list[tuple[str, bool]] = []
    accepted: list[str] = []
    if kind == QuestionKind.BLANK:
        accepted = [a.strip() for a in answer.split("|") if grading.normalise_blank(a)]
        if not accepted:
            raise RowProblem(_("缺少答案"))
    elif kind == QuestionKind.TRUE_FALSE:
        word = answer.upper()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise RowProblem(_("判断题答案应为“正确”或“错误”"))
        options = banks.true_false_options(word in TRUE_WORDS)
    else:
        texts = [cells.get(col, "") for col in OPTION_COLUMNS]
        while texts and not texts[-1]:
            texts.pop()
        if len(texts) < 2:
            raise RowProblem(_("选择题至少需要两个选项"))
        if any(not t for t in texts):
            raise RowProblem(_("选项之间不能有空列"))
        if len(set(texts)) != len(texts):
            raise RowProblem(_("选项重复"))
        letters = [ch for ch in answer.upper().replace("，", ",") if ch not in ", 、"]
        if any(ch not in LETTERS for ch in letters):
            raise RowProblem(_("答案“%(answer)s”应为选项字母", answer=answer))
        if any(LETTERS.index(ch) >= len(texts) for ch in letters):
            raise RowProblem(_("答案“%(answer)s”不在选项中", answer=answer))
        if len(set(letters)) != len(letters):
            raise RowProblem(_("答案字母重复"))
        if kind == QuestionKind.SINGLE and len(letters) != 1:
            raise RowProblem(_("单选题只能有一个答案"))
        options = [(t, LETTERS[i] in letters) for i, t in enumerate(texts)]
    data = QuestionData(kind=kind, stem=stem, options=options, accepted=accepted,
                        explanation=cells.get("解析", ""), tags=tags, difficulty=difficulty)
    problem = banks.check_question(data)
    if problem:
        raise RowProblem(problem)
    return data


def duplicate_key(kind: QuestionKind, stem: str) -> tuple[str, str]:
    return kind.value, grading.normalise_blank(stem)


def read_table(data: bytes, filename: str) -> list[list[object]]:
    """The first sheet's rows (at most MAX_ROWS + 2: the header, and one too many to notice). A workbook
    inflating beyond MAX_INFLATED_BYTES is refused before it is opened (one huge shared string would
    otherwise be held and echoed)."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        from openpyxl import load_workbook

        inflated = zip_inflated_size(data)
        if inflated is not None and inflated > MAX_INFLATED_BYTES:
            raise RowProblem(_("Excel 文件解压后过大（不超过 %(mb)d MB）", mb=MAX_INFLATED_BYTES // 2**20))

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise RowProblem(_("无法读取 Excel 文件：%(error)s", error=type(exc).__name__))
        try:
            sheet = workbook.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
        finally:
            workbook.close()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RowProblem(_("无法识别 CSV 文件的编码，请保存为 UTF-8"))
    try:
        return list(itertools.islice(csv.reader(io.StringIO(text, newline="")), MAX_ROWS + 2))
    except csv.Error:
        raise RowProblem(_("CSV 文件格式有误或单元格过长"))


def read_upload(data: bytes, filename: str, bank: QuestionBank) -> Preview:
    """Parse and check a whole file against the template and the bank; import nothing."""
    preview = Preview()
    try:
        table = read_table(data, filename)
    except RowProblem as problem:
        preview.errors.append(RowError(1, str(problem)))
        return preview
    if not table:
        preview.errors.append(RowError(1, _("文件是空的")))
        return preview
    header = [cell_text(v) for v in table[0]]
    missing = [col for col in ("题型", "题干", "答案") if col not in header]
    if missing:
        preview.errors.append(RowError(1, _("表头缺少列：%(cols)s（请使用导入模板）", cols="、".join(missing))))
        return preview
    if len(table) - 1 > MAX_ROWS:
        preview.errors.append(RowError(MAX_ROWS + 2, _("一次最多导入 %(n)d 题", n=MAX_ROWS)))
        return preview
    cell_rows, too_long = [], []
    for number, values in enumerate(table[1:], start=2):
        cells = {name: cell_text(values[i]) if i < len(values) else "" for i, name in enumerate(header[:40]) if name}
        long_columns = [name for name, text in cells.items() if len(text) > MAX_CELL]
        if long_columns:  # never held or shown: only its row and column are named
            too_long.append(RowError(number, _("“%(col)s”内容过长（不超过 %(n)d 字）", col=long_columns[0][:20],
                                               n=MAX_CELL)))
        elif any(cells.values()):  # blank rows are skipped
            cell_rows.append((number, cells))
    checked = check_cells(cell_rows, bank)
    if too_long:
        checked.errors = sorted(checked.errors + too_long, key=lambda e: e.row)
    return checked


def check_cells(cell_rows: list[tuple[int, dict[str, str]]], bank: QuestionBank) -> Preview:
    """Check numbered rows (column name → text) against the template and the bank's questions."""
    preview = Preview()
    existing = {duplicate_key(q.kind, q.stem) for q in banks.bank_questions(bank.id)}
    seen: dict[tuple[str, str], int] = {}
    for number, cells in cell_rows:
        try:
            data_ = parse_row(cells)
        except RowProblem as problem:
            preview.errors.append(RowError(number, str(problem)))
            continue
        key = duplicate_key(data_.kind, data_.stem)
        if key in seen:
            preview.errors.append(RowError(number, _("与第 %(row)d 行重复", row=seen[key])))
            continue
        if key in existing:
            preview.errors.append(RowError(number, _("与题库中已有题目重复")))
            continue
        seen[key] = number
        preview.rows.append((number, data_))
        preview.cells.append((number, cells))
    if not preview.rows and not preview.errors:
        preview.errors.append(RowError(2, _("文件中没有题目")))
    return preview


def import_rows(bank: QuestionBank, rows: list[tuple[int, QuestionData]]) -> int:
    """Add every previewed row to ``bank`` (the caller commits once, so a failure imports nothing)."""
    for _number, data in rows:
        banks.add_question(bank, data)
    return len(rows)


def row_for(question: Question) -> list[str]:
    options = [o.text for o in question.options] if question.kind in (QuestionKind.SINGLE,
                                                                      QuestionKind.MULTIPLE) else []
    if question.kind == QuestionKind.BLANK:
        answer = "|".join(question.accepted_answers or [])
    elif question.kind == QuestionKind.TRUE_FALSE:
        answer = next((o.text for o in question.options if o.is_correct), "")
    else:
        answer = "".join(LETTERS[i] for i, o in enumerate(question.options) if o.is_correct)
    options += [""] * (len(LETTERS) - len(options))
    return [KIND_LABELS[question.kind], question.stem, *options, answer, question.explanation,
            ",".join(question.tags), DIFFICULTY_LABELS[question.difficulty]]


def neutralise(value: str) -> str:
    """Keep a spreadsheet from running a cell as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def export_bank(bank: QuestionBank, fmt: str) -> bytes:
    rows = [row_for(q) for q in banks.bank_questions(bank.id)]
    return table_bytes(COLUMNS, rows, fmt, sheet_title="题库")


def table_bytes(header: list[str], rows: list[list[object]], fmt: str, sheet_title: str = "Sheet1") -> bytes:
    """A header and rows as CSV (UTF-8 with BOM, formula-looking cells neutralised) or XLSX (text kept as text)."""
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    if fmt != "xlsx":
        raise ValueError(fmt)
    return xlsx_bytes([Sheet(sheet_title, header, rows)])  # text stays text, even "=..."
