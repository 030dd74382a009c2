"""Issue 16, done means: an organizer imports members from a spreadsheet, prints activation slips, one member
activates with the code from the slip (through the QR link), logs in, and sees the reminder the organizer sent."""
from __future__ import annotations

import re

import openpyxl
import pytest
from playwright.sync_api import expect

from accounts.models import User
from core.extensions import db
from core.permissions import Role

pytestmark = pytest.mark.browser
NEW_PASSWORD = "hongqi-piaopiao-8"
SCREENSHOT = "/tmp/ops_activation_slips.png"


def test_import_print_slips_activate_and_read_a_reminder(page, context, login, make_org, make_user, tmp_path,
                                                          live_server):
    street = make_org("东城街道", kind="街道", code="DC")
    community = make_org("春晖社区", street, code="DC-1")
    make_org("1-6号楼院", community, kind="楼院", code="DC-1-6")
    organizer = make_user(Role.ORGANIZER, org=street, name="街道组织员")

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "组织编码", "人员类别", "职务"])
    sheet.append(["周春燕", "139 0100 0012", "DC-1-6", "正式党员", ""])
    sheet.append(["吴建国", "13901000013", "DC-1-6", "预备党员", "委员"])
    sheet.append(["郑秀兰", "13901000014", "DC-1", "正式党员", "书记"])
    spreadsheet = tmp_path / "党员名单.xlsx"
    book.save(spreadsheet)

    login(page, organizer)
    page.goto("/members/import")
    page.locator("input[type=file]").set_input_files(str(spreadsheet))
    page.get_by_role("button", name="预览").click()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("导入完成：新增 3 人")).to_be_visible()
    expect(page.get_by_text("东城街道 / 春晖社区 / 1-6号楼院").first).to_be_visible()

    # Print slips for everyone not yet activated: a print-ready page opens in a new tab.
    with context.expect_page() as opened:
        page.get_by_role("button", name="打印全部未激活党员的激活单").click()
    slips = opened.value
    slips.wait_for_load_state()
    expect(slips.locator(".slip")).to_have_count(3)
    slip = slips.locator(".slip", has_text="周春燕")
    expect(slip.locator(".phone")).to_have_text("139****0012")
    expect(slip.locator("svg")).to_have_count(1)
    slips.screenshot(path=SCREENSHOT, full_page=True)
    code = slip.locator(".code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    slips.close()

    # The organizer reminds her from the report list.
    page.goto("/reports/members")
    row = page.locator("tr", has_text="周春燕")
    row.locator("input[type=checkbox]").check()
    page.get_by_label("提醒内容").fill("请本周内完成《中国共产党章程》第一课的学习。")
    page.get_by_role("button", name="提醒所选人员").click()
    expect(page.get_by_text("已向 1 人发送提醒")).to_be_visible()
    page.locator("form[action$='/logout'] button").click()

    # The member scans the QR code: /activate?code=... with the code filled in.
    page.goto(f"/activate?code={code.replace('-', '')}")
    expect(page.get_by_label("激活码 / 重置码")).to_have_value(code.replace("-", ""))
    page.get_by_label("手机号").fill("13901000012")
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="设置密码并登录").click()
    expect(page.get_by_text("密码已设置")).to_be_visible()
    page.locator("form[action$='/logout'] button").click()

    login(page, "13901000012", NEW_PASSWORD)
    bell = page.locator("#message-bell")
    expect(bell.locator("[data-unread]")).to_have_text("1")
    bell.click()
    expect(page.get_by_text("请本周内完成《中国共产党章程》第一课的学习。")).to_be_visible()
    page.get_by_role("button", name="标为已读", exact=True).click()
    expect(bell.locator("[data-unread]")).to_have_count(0)
    db.session.expire_all()
    assert db.session.scalar(db.select(User).where(User.phone == "13901000012")).has_usable_password
