"""core.spreadsheets: the one XLSX writer (a streamed ZIP) every export uses."""
import hashlib
import io
import time
import zipfile
from decimal import Decimal

import openpyxl

from core.spreadsheets import Number, Sheet, xlsx_bytes, xlsx_chunks


def sheets():
    return [Sheet("名单", ["姓名", "学时"], iter([["=HYPERLINK(\"x\")", Decimal("1.5")], ["李\x07四", 3], [None, None]]),
                  [12, 8]),
            Sheet("第二页", ["a"], [["b"]])]


def test_text_stays_text_numbers_stay_numbers_header_frozen_and_bold():
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(sheets())))
    assert book.sheetnames == ["名单", "第二页"]
    sheet = book["名单"]
    assert [c.value for c in sheet[1]] == ["姓名", "学时"] and sheet["A1"].font.b
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width == 12
    assert sheet["A2"].value == "=HYPERLINK(\"x\")" and sheet["A2"].data_type == "s"  # never a formula
    assert sheet["B2"].value == 1.5 and sheet["B3"].value == 3
    assert sheet["A3"].value == "李四"  # XML cannot carry the control character


def test_same_data_same_bytes_whenever_written():
    first = xlsx_bytes(sheets())
    time.sleep(1.1)  # zip entry times have a 2 s resolution, document dates 1 s
    assert xlsx_bytes(sheets()) == first
    assert {info.date_time for info in zipfile.ZipFile(io.BytesIO(first)).infolist()} == {(2000, 1, 1, 0, 0, 0)}


def test_number_text_is_a_number_cell_and_a_sheet_name_excel_refuses_is_cleaned():
    data = xlsx_bytes([Sheet("学时/汇总:2026", ["学时", "秒数", "通过"], [[Number("1.5"), 5400, True]]),
                       Sheet("学时/汇总:2026", ["x"], [])])
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["学时汇总2026", "学时汇总2026 (2)"]
    assert [c.value for c in book.worksheets[0][2]] == [1.5, 5400, True]


def test_the_first_bytes_leave_before_the_rows_are_read_and_memory_stays_flat():
    read = []

    def rows():
        for n in range(30_000):
            read.append(n)
            yield [hashlib.sha256(str(n).encode()).hexdigest(), n]  # text that does not compress away

    chunks = xlsx_chunks([Sheet("明细", ["说明", "序号"], rows())])
    first = next(chunks)
    assert first.startswith(b"PK") and read == []  # the download starts before the database is read
    rest = list(chunks)
    assert len(rest) > 3 and max(map(len, rest)) < 1024 * 1024  # handed out in pieces, never the whole file at once
    sheet = openpyxl.load_workbook(io.BytesIO(first + b"".join(rest)))["明细"]
    assert sheet.max_row == 30_001 and sheet["B30001"].value == 29_999
