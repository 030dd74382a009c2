"""core.spreadsheets: the one XLSX writer (openpyxl write-only) every export uses."""
import io
import time
import zipfile
from decimal import Decimal

import openpyxl

from core.spreadsheets import Sheet, xlsx_bytes


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
