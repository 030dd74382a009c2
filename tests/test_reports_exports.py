"""Exports: CLI and web give the same bytes; CSV BOM; XLSX headers, frozen row, widths, numbers; formula
neutralisation; masked phones; full phones for admins only, logged."""
import csv
import io
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from accounts.models import PersonalDataAudit
from core import clock
from core.extensions import db
from learning.ledger import record_entry
from learning.models import HourSource


@pytest.fixture
def hostile(grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 7, 2))
    member = grid["members"]["R-1-1"][0]
    member.name = "=HYPERLINK(\"http://x\")"
    other = grid["members"]["R-1-1"][1]
    other.name = "@SUM(1)"
    record_entry(user_id=member.id, seconds=45 * 60 * 3, source=HourSource.MANUAL, source_ref="m:1",
                 occurred_at=datetime(2026, 2, 1), note="+cmd|' /C calc'!A0" + "长" * 400)
    record_entry(user_id=member.id, seconds=45 * 60, source=HourSource.ONLINE, source_ref="\t-tab",
                 occurred_at=datetime(2026, 2, 2))
    db.session.commit()
    return grid


def login(client, user):
    assert client.post("/login", data={"identifier": user.phone, "password": "correct-horse-42"}).status_code == 302


def download(client, query):
    response = client.get("/reports/export?" + query, buffered=True)
    assert response.status_code == 200, response.status_code
    return response


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ["summary", "ledger"])
def test_cli_and_web_give_the_same_bytes(app, client, runner, hostile, tmp_path, fmt, kind):
    org = hostile["communities"][0]
    login(client, hostile["admin"])
    web = download(client, f"kind={kind}&format={fmt}&org={org.id}&year=2026")
    assert web.headers["Content-Disposition"] == f'attachment; filename="hours-{kind}-{org.code}-2026.{fmt}"'
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["hours", "export", "--org", org.code, "--year", "2026", "--format", fmt,
                                 "--kind", kind, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == web.data


def test_csv_is_utf8_with_bom_and_neutralises_formulas(client, hostile):
    login(client, hostile["street_organizer"])
    body = download(client, "kind=ledger&format=csv&year=2026").data
    assert body.startswith(b"\xef\xbb\xbf\xe7\xbb\x84\xe7\xbb\x87")  # BOM + 组织
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in cells
    assert "'\t-tab" in cells
    note = next(c for c in cells if "calc" in c)
    assert note.startswith("'+cmd|") and note.endswith("长")
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    summary = download(client, "kind=summary&format=csv&year=2026").data.decode("utf-8-sig")
    assert "'@SUM(1)" in summary


def test_xlsx_has_chinese_headers_frozen_row_widths_and_numbers(client, hostile):
    login(client, hostile["street_organizer"])
    data = download(client, "kind=summary&format=xlsx&year=2026").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["组织", "姓名", "手机号"] and "合计学时" in header
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 36
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    hostile_row = rows["'=HYPERLINK(\"http://x\")"]
    total = hostile_row[header.index("合计学时")]
    assert total == 4 and isinstance(total, int)
    assert hostile_row[header.index("应修学时")] == 32
    assert hostile_row[2].count("*") == 4  # masked


def test_phones_masked_unless_an_admin_asks_which_is_logged(client, hostile):
    member = hostile["members"]["R-1-1"][0]
    login(client, hostile["street_organizer"])
    body = download(client, "kind=summary&format=csv&year=2026").data.decode("utf-8-sig")
    assert f"{member.phone[:3]}****{member.phone[-4:]}" in body and member.phone not in body
    assert client.get("/reports/export?kind=summary&format=csv&full=1").status_code == 403
    client.post("/logout")
    login(client, hostile["admin"])
    body = download(client, "kind=summary&format=csv&year=2026&full=1").data.decode("utf-8-sig")
    assert member.phone in body
    audit = db.session.scalars(select(PersonalDataAudit)).all()
    assert [(a.actor_id, a.action, a.channel) for a in audit] == [
        (hostile["admin"].id, "export:summary:full_phones", "web")]


def test_cli_full_phones_are_logged(runner, hostile, tmp_path):
    out = tmp_path / "s.csv"
    result = runner.invoke(args=["hours", "export", "--year", "2026", "--full-phones", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert hostile["members"]["R-1-1"][0].phone in out.read_text(encoding="utf-8-sig")
    assert db.session.scalar(select(PersonalDataAudit.channel)) == "cli"


def test_met_and_category_filters(client, hostile):
    login(client, hostile["street_organizer"])
    body = download(client, "kind=summary&format=csv&year=2026&met=1").data.decode("utf-8-sig")
    assert len(body.strip().splitlines()) == 1  # nobody met 32 学时
    body = download(client, "kind=summary&format=csv&year=2026&met=0&category=full").data.decode("utf-8-sig")
    assert len(body.strip().splitlines()) == 1 + 7
