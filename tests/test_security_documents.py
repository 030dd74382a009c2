"""DOCX zip bombs and huge documents (finding 7): a DOCX inflating too far is refused at once; a big one is
stream-parsed, its text capped (with a note), and its material page shown in pages."""
from __future__ import annotations

import io
import time
import zipfile

from sqlalchemy import func, select

from courses import extract
from courses.models import Material
from courses.materials import add_material
from core.extensions import db

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
                 'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
                 'main+xml"/></Types>')


def docx_with(paragraphs, repeat: int = 1) -> bytes:
    """A minimal DOCX whose document.xml holds ``paragraphs`` ``repeat`` times, written as a stream."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w") as xml:
            xml.write(f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>'.encode())
            chunk = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs).encode()
            for _ in range(repeat):
                xml.write(chunk)
            xml.write(b"</w:body></w:document>")
    return out.getvalue()


def test_a_docx_bomb_is_refused_at_once(app, grid, auth, client):
    bomb = docx_with(["党" * 1000] * 100, repeat=220)  # document.xml inflates to ~66 MB
    assert len(bomb) < 2_000_000
    auth.login(grid["trainer"])
    started = time.monotonic()
    response = client.post("/materials/upload", data={"title": "炸弹", "file": (io.BytesIO(bomb), "bomb.docx")},
                           content_type="multipart/form-data")
    assert time.monotonic() - started < 5
    assert "解压后的内容过大" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Material.id))) == 0


def test_a_long_document_is_capped_with_a_note_and_paged(app, grid, auth, client, monkeypatch):
    monkeypatch.setattr(extract, "MAX_TEXT_CHARS", 300_000)
    data = docx_with([f"第{i}段" + "学习党章" * 100 for i in range(1000)])  # ~400,000 characters
    material = add_material(io.BytesIO(data), title="长文档")
    db.session.commit()
    assert len(material.text) < 300_100 and "其余部分未收录" in material.text
    assert material.text.startswith("第0段学习党章")
    auth.login(grid["members"]["R-1-1"][0])
    first = client.get(f"/materials/{material.id}").get_data(as_text=True)
    second = client.get(f"/materials/{material.id}?page=2").get_data(as_text=True)
    assert 'aria-label="正文分页"' in first and len(first) < 1_500_000
    assert 'id="p-1"' in first and 'id="p-1"' not in second  # passages keep their numbers across pages
    assert "第999段" not in first + second  # beyond the cap


def test_tables_and_paragraphs_stream_in_document_order(app):
    xml = (f'<w:document {W}><w:body><w:p><w:r><w:t>标题</w:t></w:r></w:p><w:tbl><w:tr>'
           '<w:tc><w:p><w:r><w:t>姓名</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>张三</w:t></w:r></w:p>'
           '<w:p><w:r><w:t>党员</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p><w:r><w:t>结尾</w:t></w:r>'
           '<w:tab/><w:r><w:t>签字</w:t></w:r></w:p></w:body></w:document>')
    assert extract._stream_document(io.BytesIO(xml.encode())) == "标题\n姓名\t张三 党员\n结尾\t签字"
