"""The compliance dashboard, its chart, drill-down, member page and their agreement with exports and the
member's own hours; by-time-of-training vs by-current-organization after a transfer."""
import csv
import io
import re
from datetime import datetime
from decimal import Decimal

import pytest

from accounts import services
from accounts.models import Position
from core import clock
from core.extensions import db
from reports import compliance
from learning.hours import HourRequirement
from learning.ledger import record_entry
from learning.models import HourSource

NOW = datetime(2026, 7, 2, 4, 0)  # about half of 2026 gone by
HOUR = 45 * 60  # one 学时 by default


def credit(member, hours_, source=HourSource.ONLINE, when=datetime(2026, 3, 1, 2, 0), ref=None):
    record_entry(user_id=member.id, seconds=int(hours_ * HOUR), source=source,
                 source_ref=ref or f"test:{member.id}:{source.value}:{when.isoformat()}:{hours_}", occurred_at=when)


@pytest.fixture
def district(grid, monkeypatch):
    """Community R-1-1: one member met (32), one behind (3); R-1-2: one on track (20), one not started."""
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    a, b = grid["members"]["R-1-1"]
    c, d = grid["members"]["R-1-2"]
    credit(a, 30)
    credit(a, 2, HourSource.OFFLINE)
    credit(b, 3, HourSource.QUIZ)
    credit(c, 20, HourSource.MANUAL)
    credit(grid["members"]["R-2-1"][0], 5, when=datetime(2025, 6, 1))  # another year: not counted
    db.session.commit()
    return grid


def login(client, user):
    response = client.post("/login", data={"identifier": user.phone, "password": "correct-horse-42"})
    assert response.status_code == 302


def test_street_dashboard_counts_each_community(client, district):
    login(client, district["street_organizer"])
    page = client.get("/reports/?year=2026").get_data(as_text=True)
    c11, c12 = district["communities"][:2]
    # organizer + 2 members in each community; the street organizer belongs to the street itself (本级)
    row11 = re.search(rf'<tr data-org="{c11.id}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td class="text-end">(?:<a [^>]*>)?([^<]*)', row11)
    # members, met, on track, behind, not started, not required, average
    assert cells == ["3", "1", "0", "1", "1", "0", "11.7"]
    row12 = re.search(rf'<tr data-org="{c12.id}">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="text-end">(?:<a [^>]*>)?([^<]*)', row12) == ["3", "0", "1", "0", "2", "0", "6.7"]
    assert 'data-total="members">7<' in page
    assert "社区21" not in page  # the other street


def test_svg_chart_draws_each_community_by_status(client, district):
    login(client, district["street_organizer"])
    page = client.get("/reports/?year=2026").get_data(as_text=True)
    svg = re.search(r"<svg[^>]*ops-chart.*?</svg>", page, re.S).group(0)
    c11 = district["communities"][0]
    bars = {m.group(1): (float(m.group(3)), int(m.group(2))) for m in re.finditer(
        rf'<rect class="bar-(\w+)" data-org="{c11.id}" data-count="(\d+)" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)}
    assert bars == {"met": (60.0, 1), "behind": (60.0, 1), "not_started": (60.0, 1)}  # 180px / 3 members
    assert "社区11" in svg and "社区12" in svg and "<script" not in page.split("ops-chart")[1].split("</svg>")[0]


def test_drill_down_to_members_and_member_ledger(client, district):
    login(client, district["street_organizer"])
    c11 = district["communities"][0]
    a, b = district["members"]["R-1-1"]
    listing = client.get(f"/reports/members?org={c11.id}&year=2026").get_data(as_text=True)
    order = re.findall(r'data-member="(\d+)"', listing)
    assert order[-1] == str(a.id)  # most behind first, the one who met last
    assert str(b.id) in order and len(order) == 3
    page = client.get(f"/reports/members/{a.id}?year=2026").get_data(as_text=True)
    assert 'id="member-earned">32<' in page
    assert "线下课堂" in page and "test:" in page  # the sources of the ledger


def test_reminders_list_members_behind(client, district):
    login(client, district["street_organizer"])
    page = client.get("/reports/reminders?year=2026").get_data(as_text=True)
    c, d = district["members"]["R-1-2"]
    a, b = district["members"]["R-1-1"]
    listed = set(re.findall(r'data-member="(\d+)"', page))
    assert str(b.id) in listed and str(d.id) in listed
    assert str(a.id) not in listed and str(c.id) not in listed  # met, on track


def test_summary_export_equals_dashboard_and_members_own_hours(client, district):
    login(client, district["street_organizer"])
    c11 = district["communities"][0]
    a, b = district["members"]["R-1-1"]
    body = client.get(f"/reports/export?kind=summary&format=csv&org={c11.id}&year=2026", buffered=True).data
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    by_name = {r["姓名"]: r for r in rows}
    assert len(rows) == 3
    assert by_name[a.name]["合计学时"] == "32" and by_name[a.name]["是否达标"] == "是"
    assert by_name[a.name]["线上学习"] == "30" and by_name[a.name]["线下课堂"] == "2"
    report = compliance.compliance(c11, compliance.Period.for_year(2026))
    assert sum(Decimal(r["合计学时"]) for r in rows) * HOUR == report.total.earned
    assert sum(r["是否达标"] == "是" for r in rows) == report.total.met
    client.post("/logout")
    login(client, a)
    mine = client.get("/api/v1/me/hours?year=2026").get_json()
    assert mine["earned_seconds"] == int(Decimal(by_name[a.name]["合计学时"]) * HOUR)
    assert mine["required_seconds"] == int(Decimal(by_name[a.name]["应修学时"]) * HOUR)


def test_requirement_in_sql_follows_the_requirement_settings(app, district, make_member):
    """Secretaries need 56; an override for one community and year beats the national rule."""
    c11, c12 = district["communities"][:2]
    secretary = make_member(c12, positions=[Position.SECRETARY.value])
    db.session.add(HourRequirement(year=2026, category="full", position=None, org_id=c11.id, hours=Decimal(40)))
    db.session.commit()
    from learning.hours import required_seconds_for

    rows = db.session.execute(compliance.member_rows(None, compliance.Period.for_year(2026))).all()
    assert rows
    from accounts.models import User

    for row in rows:
        assert row.required == required_seconds_for(db.session.get(User, row.user_id), 2026), row
    required = {row.user_id: row.required for row in rows}
    assert required[secretary.id] == 56 * HOUR
    assert required[district["members"]["R-1-1"][0].id] == 40 * HOUR


def test_transfer_keeps_hours_and_reports_by_time_or_current(client, district, monkeypatch):
    c11, c12 = district["communities"][:2]
    a = district["members"]["R-1-1"][0]  # 32 学时 earned in March in 社区11
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 5, 1))
    services.transfer_member(a, c12)
    db.session.commit()
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    credit(a, 4, when=datetime(2026, 6, 1))  # after the transfer, in 社区12
    db.session.commit()
    street = district["streets"][0]
    period = compliance.Period.for_year(2026)
    now_lines = {line.org.code: line for line in compliance.compliance(street, period, compliance.Basis.CURRENT).lines}
    then_lines = {line.org.code: line for line in compliance.compliance(street, period, compliance.Basis.AT_THE_TIME).lines}
    assert now_lines["R-1-1"].earned == 3 * HOUR and now_lines["R-1-2"].earned == (20 + 36) * HOUR
    assert then_lines["R-1-1"].earned == (32 + 3) * HOUR and then_lines["R-1-2"].earned == (20 + 4) * HOUR
    assert now_lines["R-1-1"].members == 2 and then_lines["R-1-1"].members == 3
    login(client, district["street_organizer"])
    page = client.get(f"/reports/members/{a.id}?year=2026").get_data(as_text=True)
    assert 'id="member-earned">36<' in page and "member-history" in page


def test_date_range_counts_only_entries_inside(client, district):
    login(client, district["street_organizer"])
    body = client.get("/reports/export?kind=ledger&format=csv&from=2026-03-02&to=2026-12-31", buffered=True).data.decode("utf-8-sig")
    assert len(body.strip().splitlines()) == 1  # header only: every entry is on 1 March
    body = client.get("/reports/export?kind=ledger&format=csv&from=2026-03-01&to=2026-03-01", buffered=True).data.decode("utf-8-sig")
    assert len(body.strip().splitlines()) == 1 + 4


def test_people_without_a_requirement_are_not_applicable_never_met(client, district, make_member):
    """Issue 12: a 群众 and an activist (no rule gives them a requirement) count as 不适用 on the dashboard, in the
    CSV and in the XLSX, never as 已达标, and the headline share is over the people with a requirement."""
    import openpyxl

    from accounts.models import MemberCategory

    c11 = district["communities"][0]
    public = make_member(c11, MemberCategory.PUBLIC, name="群众甲")
    activist = make_member(c11, MemberCategory.ACTIVIST, name="积极分子乙")
    credit(activist, 2)
    db.session.commit()
    login(client, district["street_organizer"])
    page = client.get("/reports/?year=2026").get_data(as_text=True)
    row11 = re.search(rf'<tr data-org="{c11.id}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td class="text-end">(?:<a [^>]*>)?([^<]*)', row11)
    assert cells[:6] == ["5", "1", "0", "1", "1", "2"]  # the two are 不适用, not met
    assert 'data-total="not_required"' in page
    # 1 met of the 7 street members with a requirement (not 3 of 9)
    assert re.search(r'data-total="met_share"[^>]*>14%<', page)
    body = client.get(f"/reports/export?kind=summary&format=csv&org={c11.id}&year=2026", buffered=True).data
    rows = {r["姓名"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert rows[public.name]["是否达标"] == rows[activist.name]["是否达标"] == "不适用"
    assert rows[public.name]["学习进度"] == "不适用"
    assert sum(r["是否达标"] == "是" for r in rows.values()) == 1
    data = client.get(f"/reports/export?kind=summary&format=xlsx&org={c11.id}&year=2026", buffered=True).data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    by_name = {row[header.index("姓名")]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert by_name[public.name][header.index("是否达标")] == "不适用"
    assert by_name[activist.name][header.index("学习进度")] == "不适用"
    assert "已达标" not in (by_name[public.name][header.index("学习进度")], by_name[activist.name][header.index("学习进度")])
