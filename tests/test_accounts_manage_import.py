"""Bulk member import: preview names every bad row; all or nothing; re-import changes nothing; GBK and UTF-8
CSV; XLSX with formula and very long cells."""
import io
import re

import openpyxl
from sqlalchemy import func, select

from accounts.models import MembershipPeriod, User
from core.extensions import db

HEADER = "姓名,手机号,组织编码,人员类别,职务\n"
GOOD = HEADER + "王一,13711110001,R-1-1,正式党员,书记\n李二,13711110002,R-1-2,预备党员,\n赵三,13711110003,R-1-1,入党积极分子,委员、书记\n"


def login(client, user):
    assert client.post("/login", data={"identifier": user.phone, "password": "correct-horse-42"}).status_code == 302


def upload(client, data: bytes, name="members.csv"):
    return client.post("/members/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def confirm(client, page: str):
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    return client.post("/members/import/confirm", data={"token": token})


def user_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(User.id)))


def test_preview_then_import_then_reimport_changes_nothing(client, grid):
    login(client, grid["street_organizer"])
    before = user_count()
    page = upload(client, GOOD.encode("utf-8")).get_data(as_text=True)
    assert "新增 3 人，更新 0 人，未变 0 人" in page
    assert user_count() == before  # the preview writes nothing
    assert confirm(client, page).status_code == 302
    assert user_count() == before + 3
    zhao = db.session.scalar(select(User).where(User.phone == "13711110003"))
    assert zhao.category.value == "activist" and {p.value for p in zhao.positions} == {"secretary", "committee"}
    page = upload(client, GOOD.encode("utf-8")).get_data(as_text=True)
    assert "新增 0 人，更新 0 人，未变 3 人" in page
    confirm(client, page)
    assert user_count() == before + 3
    assert db.session.scalar(select(func.count(MembershipPeriod.id))) == 0


def test_reimport_updates_by_phone_and_records_a_transfer(client, grid):
    login(client, grid["street_organizer"])
    confirm(client, upload(client, GOOD.encode("utf-8")).get_data(as_text=True))
    changed = GOOD.replace("王一,13711110001,R-1-1,正式党员,书记", "王一一,13711110001,R-1-2,正式党员,")
    page = upload(client, changed.encode("utf-8")).get_data(as_text=True)
    assert "新增 0 人，更新 1 人，未变 2 人" in page
    confirm(client, page)
    db.session.expire_all()
    wang = db.session.scalar(select(User).where(User.phone == "13711110001"))
    assert wang.name == "王一一" and wang.organization.code == "R-1-2" and wang.positions == set()
    assert db.session.scalar(select(func.count(MembershipPeriod.id)).where(MembershipPeriod.user_id == wang.id)) == 2


def test_preview_names_every_bad_row_and_nothing_is_imported(client, grid):
    taken = grid["members"]["R-2-1"][0].phone  # another street's member
    organizer = grid["street_organizer"].phone
    body = HEADER + "\n".join([
        "好人,13711110001,R-1-1,正式党员,",       # row 2: fine
        "坏号码,12345,R-1-1,正式党员,",            # 3
        "无组织,13711110003,NOPE,正式党员,",       # 4
        "别人的,13711110004,R-2-1,正式党员,",      # 5: another street
        "重复,13711110001,R-1-1,正式党员,",        # 6: duplicate of row 2
        f"占用,{taken},R-1-1,正式党员,",           # 7: phone of a member outside the subtree
        f"组织员,{organizer},R-1-1,正式党员,",     # 8: phone of an organizer
        "类别,13711110009,R-1-1,党外人士,",        # 9
        "职务,13711110010,R-1-1,正式党员,主席",    # 10
    ]) + "\n"
    before = user_count()
    response = upload(client_logged_in(client, grid), body.encode("utf-8"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-row="(\d+)"><td>\d+</td><td>([^<]*)</td>', page))
    assert sorted(rows, key=int) == ["3", "4", "5", "6", "7", "8", "9", "10"]
    assert "手机号格式不正确" in rows["3"]
    assert "组织编码不存在" in rows["4"] and "组织编码不存在" in rows["5"]
    assert "第 2 行重复" in rows["6"]
    assert "已被系统中其他人员使用" in rows["7"] and "已被系统中其他人员使用" in rows["8"]
    assert "人员类别" in rows["9"] and "职务" in rows["10"]
    assert "确认导入" not in page
    assert user_count() == before


def client_logged_in(client, grid):
    login(client, grid["street_organizer"])
    return client


def test_apply_is_all_or_nothing_when_the_data_changed_since_the_preview(client, grid, make_member):
    login(client, grid["street_organizer"])
    page = upload(client, GOOD.encode("utf-8")).get_data(as_text=True)
    make_member(grid["communities"][2], phone="13711110003")  # someone elsewhere takes row 4's phone meanwhile
    before = user_count()
    response = confirm(client, page)
    assert response.status_code == 302
    assert user_count() == before  # neither 王一 nor 李二 was written
    assert db.session.scalar(select(User).where(User.phone == "13711110001")) is None


def test_gbk_csv_is_detected(client, grid):
    login(client, grid["street_organizer"])
    page = upload(client, GOOD.encode("gbk")).get_data(as_text=True)
    assert "新增 3 人" in page
    confirm(client, page)
    assert db.session.scalar(select(User.name).where(User.phone == "13711110002")) == "李二"


def test_utf8_with_bom_and_crlf(client, grid):
    login(client, grid["street_organizer"])
    page = upload(client, b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode("utf-8")).get_data(as_text=True)
    assert "新增 3 人" in page


def test_xlsx_with_formula_and_very_long_cells(client, grid):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "组织编码", "人员类别", "职务"])
    sheet.append(["王一", 13711110001, "R-1-1", "正式党员", None])  # a phone typed as a number
    sheet.append(["=1+1", "13711110002", "R-1-1", "正式党员", None])
    sheet.append(["长" * 5000, "13711110003", "R-1-1", "正式党员", None])
    buffer = io.BytesIO()
    book.save(buffer)
    login(client, grid["street_organizer"])
    page = upload(client, buffer.getvalue(), "members.xlsx").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-row="(\d+)"><td>\d+</td><td>([^<]*)</td>', page))
    assert set(rows) == {"3", "4"} and "公式" in rows["3"] and "过长" in rows["4"]


def test_unreadable_files_say_why(client, grid):
    login(client, grid["street_organizer"])
    page = upload(client, b"\x81\xff\xfe\x00garbage", "x.csv").get_data(as_text=True)
    assert 'id="import-error"' in page
    page = upload(client, "名字,电话\n王,1\n".encode("utf-8")).get_data(as_text=True)
    assert "缺少表头" in page
    page = upload(client, b"PK\x03\x04not a zip", "x.xlsx").get_data(as_text=True)
    assert "无法读取 XLSX" in page


def test_template_downloads(client, grid):
    login(client, grid["street_organizer"])
    body = client.get("/members/import/template.csv").data
    assert body.startswith(b"\xef\xbb\xbf") and "组织编码" in body.decode("utf-8-sig")


def test_the_template_imports_as_it_is_and_the_preview_names_the_people(client, grid):
    """Issue 17: the example rows use organization codes of the organizer's own subtree; the preview lists names."""
    login(client, grid["street_organizer"])
    template = client.get("/members/import/template.csv").data
    codes = {line.split(",")[2] for line in template.decode("utf-8-sig").splitlines()[1:]}
    assert codes and codes <= {"R-1", "R-1-1", "R-1-2"}, codes
    page = upload(client, template).get_data(as_text=True)
    assert "有错误" not in page and "新增 2 人" in page
    preview = page[page.index('id="import-preview"'):]
    assert "张三" in preview and "李四" in preview
