"""`flask materials import` (issue 17): titles from the documents, with the year where they give it, and
README-like files left out."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core.extensions import db
from courses.demo_library import simple_docx, simple_pdf
from courses.models import Material

CONSTITUTION_2017 = "中国共产党章程\n（中国共产党第十九次全国代表大会部分修改，2017年10月24日通过）\n总纲\n中国共产党是中国工人阶级的先锋队。"
CONSTITUTION_2022 = "中国共产党章程\n中国共产党第二十次全国代表大会部分修改，2022年10月22日通过\n总　纲\n中国共产党是中国工人阶级的先锋队，同时是中国人民和中华民族的先锋队。"


def pdf_with_metadata_title(title: str, first_line: str, paragraphs: list[str]) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(simple_pdf(first_line, paragraphs)))
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "README.md").write_text("# 语料说明\n\n本目录收录学习材料。", encoding="utf-8")
    (root / "SOURCES.md").write_text("| file | title |\n|---|---|\n", encoding="utf-8")
    (root / "LICENSE.txt").write_text("公有领域。", encoding="utf-8")
    (root / "party-constitution-2017.txt").write_text(CONSTITUTION_2017, encoding="utf-8")
    (root / "party-constitution-2022.txt").write_text(CONSTITUTION_2022, encoding="utf-8")
    (root / "government-work-report-2017.txt").write_text(
        "政府工作报告\n——2017年3月5日在第十二届全国人民代表大会第五次会议上\n国务院总理　李克强\n各位代表：\n现在，我代表国务院。",
        encoding="utf-8")
    (root / "notes.md").write_text("学习资料\n\n## 民主集中制学习笔记\n\n坚持**民主集中制**。", encoding="utf-8")
    (root / "scan-0001.pdf").write_bytes(pdf_with_metadata_title("关于加强基层党组织建设的意见", "同志们：",
                                                                   ["今天学习基层党组织建设。"]))
    (root / "outline-v2.docx").write_bytes(simple_docx("党员权利与义务学习提纲", ["一、学习目的。"]))
    (root / "speech.txt").write_text("同志们：\n今天我们学习党章。", encoding="utf-8")
    return root


def titles() -> dict[str, str]:
    return {m.filename: m.title for m in db.session.scalars(select(Material))}


def test_import_titles_come_from_the_documents(app, runner, corpus):
    result = runner.invoke(args=["materials", "import", str(corpus)])
    assert result.exit_code == 0, result.output
    assert titles() == {
        "party-constitution-2017.txt": "中国共产党章程（2017年）",
        "party-constitution-2022.txt": "中国共产党章程（2022年）",
        "government-work-report-2017.txt": "政府工作报告（2017年）",
        "notes.md": "民主集中制学习笔记",
        "scan-0001.pdf": "关于加强基层党组织建设的意见",
        "outline-v2.docx": "党员权利与义务学习提纲",
        "speech.txt": "speech",  # a salutation is no title: the file name
    }
    assert "导入 7 个，重复 0 个，失败 0 个，跳过 3 个" in result.output
    for name in ("README.md", "SOURCES.md", "LICENSE.txt"):
        assert f"跳过（在忽略列表 MATERIALS_IMPORT_IGNORE 中）：{corpus / name}" in result.output


def test_the_ignore_list_is_a_setting(app, runner, corpus):
    app.config["MATERIALS_IMPORT_IGNORE"] = "speech*, *.docx"  # as the environment gives it
    result = runner.invoke(args=["materials", "import", str(corpus)])
    assert result.exit_code == 0, result.output
    imported = titles()
    assert "README.md" in imported and imported["README.md"] == "语料说明"
    assert "speech.txt" not in imported and "outline-v2.docx" not in imported


def test_a_title_with_its_year_gets_no_second_one(app, runner, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("中国共产党纪律处分条例 2023\n（2023年12月8日中共中央政治局会议修订）\n第一编 总则",
                                          encoding="utf-8")
    (tmp_path / "d" / "b.txt").write_text("2019年政府工作报告\n各位代表：", encoding="utf-8")
    assert runner.invoke(args=["materials", "import", str(tmp_path / "d")]).exit_code == 0
    assert titles() == {"a.txt": "中国共产党纪律处分条例 2023", "b.txt": "2019年政府工作报告"}
