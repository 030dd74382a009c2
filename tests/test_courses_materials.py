"""The study materials library: who sees what (pages, API, files), archiving, bulk import, demo data."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.extensions import db
from courses import demo_library
from courses.demo_library import simple_docx, simple_pdf
from courses.materials import DuplicateMaterial, add_material
from courses.models import Audience, Course, CourseStatus, Material


def material(title: str, **kwargs) -> Material:
    created = add_material(io.BytesIO(f"{title}的正文内容。".encode()), title=title, **kwargs)
    db.session.commit()
    return created


@pytest.fixture
def shelf(app, grid):
    """One material of each visibility."""
    draft = Course(title="草稿课程", audience=Audience.PUBLIC, status=CourseStatus.DRAFT)
    published = Course(title="已发布课程", audience=Audience.PUBLIC, status=CourseStatus.PUBLISHED)
    db.session.add_all([draft, published])
    db.session.commit()
    return {
        "public": material("公开资料", category="社区生活"),
        "members": material("党员资料", audience=Audience.MEMBERS, category="理论学习"),
        "street1": material("街道一资料", org=grid["streets"][0]),
        "draft_course": material("草稿课程资料", course=draft),
        "course": material("课程资料", course=published),
    }


VISIBLE = {
    "public": {"public", "course"},
    "member_1": {"public", "members", "street1", "course"},
    "member_2": {"public", "members", "course"},
    "trainer": {"public", "members", "street1", "draft_course", "course"},
}


def login_as(auth, grid, who):
    users = {"public": grid["public"], "trainer": grid["trainer"], "member_1": grid["members"]["R-1-1"][0],
             "member_2": grid["members"]["R-2-1"][0]}
    auth.login(users[who])


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_library_page_lists_only_visible_materials(client, auth, grid, shelf, who):
    login_as(auth, grid, who)
    page = client.get("/materials/").get_data(as_text=True)
    shown = {key for key, m in shelf.items() if m.title in page}
    assert shown == VISIBLE[who]


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_api_list_and_detail_follow_the_same_rules(client, auth, grid, shelf, who):
    headers = auth.token({"public": grid["public"], "trainer": grid["trainer"],
                          "member_1": grid["members"]["R-1-1"][0], "member_2": grid["members"]["R-2-1"][0]}[who])
    listed = client.get("/api/v1/materials?per_page=100", headers=headers).get_json()
    assert {m["title"] for m in listed["items"]} == {shelf[k].title for k in VISIBLE[who]}
    assert listed["total"] == len(VISIBLE[who])
    for key, m in shelf.items():
        detail = client.get(f"/api/v1/materials/{m.id}", headers=headers)
        if key in VISIBLE[who]:
            assert detail.status_code == 200 and detail.get_json()["text"] == f"{m.title}的正文内容。"
        else:
            assert detail.status_code == 404 and detail.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_reading_page_and_file_url_follow_the_same_rules(client, auth, grid, shelf, who):
    login_as(auth, grid, who)
    for key, m in shelf.items():
        expected = 200 if key in VISIBLE[who] else 404
        assert client.get(f"/materials/{m.id}").status_code == expected, key
        assert client.get(f"/materials/{m.id}/file").status_code == expected, key


def test_visitors_are_sent_to_login_and_api_says_401(client, shelf):
    assert client.get("/materials/").status_code == 302
    assert client.get(f"/materials/{shelf['public'].id}/file").status_code == 302
    assert client.get("/api/v1/materials").status_code == 401


def test_category_filter_and_paging(app, client, auth, grid):
    app.config["PER_PAGE"] = 2
    for i in range(3):
        material(f"理论{i}", category="理论学习")
    material("垃圾分类", category="社区生活")
    auth.login(grid["members"]["R-1-1"][0])
    first = client.get("/materials/?category=理论学习").get_data(as_text=True)
    assert "理论2" in first and "理论1" in first and "理论0" not in first and "垃圾分类" not in first
    second = client.get("/materials/?category=理论学习&page=2").get_data(as_text=True)
    assert "理论0" in second and "垃圾分类" not in second
    api = client.get("/api/v1/materials?category=社区生活").get_json()
    assert [m["title"] for m in api["items"]] == ["垃圾分类"] and api["total"] == 1


def test_reading_page_shows_extracted_text(client, auth, grid):
    pdf = add_material(io.BytesIO(simple_pdf("党员权利", ["党员享有表决权、选举权和被选举权。"])), title="PDF 资料")
    md = add_material(io.BytesIO("# 标题\n\n**重点**内容<script>alert(1)</script>".encode()), title="MD 资料")
    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])
    assert "党员享有表决权" in client.get(f"/materials/{pdf.id}").get_data(as_text=True)
    page = client.get(f"/materials/{md.id}").get_data(as_text=True)
    assert "重点" in page and "<script>alert(1)" not in page


def test_archived_material_disappears_but_keeps_its_row(client, auth, grid, shelf):
    auth.login(grid["trainer"])
    target = shelf["public"]
    target.uploaded_by_id = grid["trainer"].id  # only who uploaded it (or an admin) may archive it
    db.session.commit()
    response = client.post(f"/materials/{target.id}/archive")
    assert response.status_code == 302
    auth.login(grid["members"]["R-1-1"][0])
    assert f"/materials/{target.id}\"" not in client.get("/materials/").get_data(as_text=True)
    assert client.get(f"/materials/{target.id}").status_code == 404
    db.session.expire_all()
    kept = db.session.get(Material, target.id)
    assert kept is not None and kept.deleted_at is not None


def test_members_cannot_archive(client, auth, grid, shelf):
    auth.login(grid["members"]["R-1-1"][0])
    assert client.post(f"/materials/{shelf['public'].id}/archive").status_code == 403


def test_duplicate_raises_with_the_existing_material(app):
    first = material("原件")
    with pytest.raises(DuplicateMaterial) as duplicate:
        add_material(io.BytesIO("原件的正文内容。".encode()), title="复印件")
    assert duplicate.value.existing.id == first.id


def test_nav_link_for_every_logged_in_user(client, auth, grid):
    assert 'href="/materials/"' not in client.get("/").get_data(as_text=True)
    auth.login(grid["public"])
    assert 'href="/materials/"' in client.get("/").get_data(as_text=True)


# --- bulk import -------------------------------------------------------------------------------

@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "import"
    (root / "章程" / "附件").mkdir(parents=True)
    (root / "中国共产党章程学习.txt").write_text("中国共产党章程学习\n第一条 内容。", encoding="utf-8")
    (root / "章程" / "党员手册.md").write_text("# 党员手册\n\n认真学习。", encoding="utf-8")
    (root / "章程" / "附件" / "记录表.docx").write_bytes(simple_docx("记录表", ["说明"], [["项目", "次数"], ["党课", "4"]]))
    (root / "章程" / "附件" / "提纲.pdf").write_bytes(simple_pdf("学习提纲", ["第一部分 党员的义务"]))
    (root / "重复的副本.txt").write_text("中国共产党章程学习\n第一条 内容。", encoding="utf-8")
    (root / "损坏的.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <</Type /Catalog")
    (root / "损坏的.docx").write_bytes(simple_docx("x", ["y"])[:900])
    (root / "程序.txt").write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    (root / "数据.jsonl").write_text('{"title": "x"}\n', encoding="utf-8")
    (root / ".隐藏.txt").write_text("不该导入", encoding="utf-8")
    return root


def test_bulk_import_reports_bad_files_and_goes_on(app, runner, folder):
    result = runner.invoke(args=["materials", "import", str(folder), "--category", "党章党规", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    output = result.output
    assert "导入 4 个，重复 1 个，失败 3 个，跳过 1 个" in output
    assert "损坏的.pdf: 无法读取这个 PDF 文件" in output
    assert "损坏的.docx: 无法读取这个 Word 文件" in output
    assert "程序.txt: 不支持这种文件类型" in output
    assert "数据.jsonl" in output
    titles = set(db.session.scalars(select(Material.title)))
    assert titles == {"中国共产党章程学习", "党员手册", "记录表", "学习提纲"}
    assert set(db.session.scalars(select(Material.category))) == {"党章党规"}
    docx = db.session.scalar(select(Material).where(Material.file_kind == "docx"))
    assert "党课\t4" in docx.text
    stored = [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()]
    assert len(stored) == 4  # nothing left from the refused or duplicate files

    again = runner.invoke(args=["materials", "import", str(folder)])
    assert "导入 0 个，重复 5 个，失败 3 个" in again.output
    assert db.session.scalar(select(func.count()).select_from(Material)) == 4


def test_bulk_import_members_only_for_an_organization(app, runner, folder, grid):
    result = runner.invoke(args=["materials", "import", str(folder / "章程"), "--audience", "members",
                                 "--org", grid["streets"][0].code])
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(select(Material)).all()
    assert len(rows) == 3
    assert {(m.audience, m.org_id) for m in rows} == {(Audience.MEMBERS, grid["streets"][0].id)}
    unknown = runner.invoke(args=["materials", "import", str(folder), "--org", "NO-SUCH"])
    assert unknown.exit_code != 0


SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="../shared/corpus is not on this machine")
def test_import_the_shared_corpus(app, runner):
    app.config["SEARCH_SYNC_ON_COMMIT"] = False  # indexing is the search tests' business; this is the import
    result = runner.invoke(args=["materials", "import", str(SHARED_CORPUS)])
    assert result.exit_code == 0, result.output
    count = db.session.scalar(select(func.count()).select_from(Material))
    assert count >= 35
    constitution = db.session.scalar(select(Material).where(Material.title == "中国共产党章程（2022年）"))
    assert constitution is not None and "总　纲" in constitution.text
    assert db.session.scalar(select(Material).where(Material.title == "中国共产党章程（2017年）")) is not None
    assert db.session.scalar(select(Material).where(Material.filename == "SOURCES.md")) is None


# --- demo data ---------------------------------------------------------------------------------

def test_demo_library_is_idempotent_and_readable(app, grid):
    from accounts.services import create_organization

    create_organization("LJ-01", "滨江街道", "街道", grid["root"])
    assert demo_library.load() == len(demo_library.CATALOGUE)
    db.session.commit()
    assert demo_library.load() == 0
    rows = {m.title: m for m in db.session.scalars(select(Material))}
    assert len(rows) == len(demo_library.CATALOGUE)
    assert "党员的权利" in rows["党员权利与义务学习提纲"].text
    assert "党小组会\t每月" in rows["党支部“三会一课”记录表"].text
    gbk = rows["文明家庭评选办法（滨江街道）"]
    assert "文明家庭" in gbk.text and gbk.org_id is not None
    assert {m.file_kind for m in rows.values()} == {"md", "txt", "pdf", "docx"}
