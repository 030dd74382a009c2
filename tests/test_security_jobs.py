"""Text extraction runs outside the request (finding 6): an upload answers at once and the material shows
"正在处理"; the job stops a PDF whose pages are too slow within its budgets and says why."""
from __future__ import annotations

import io
import time
import zlib

import pytest
from huey.storage import SqliteStorage
from sqlalchemy import select

from core import jobs
from core.extensions import db
from courses.materials import extract_material_text
from courses.models import Material


def slow_pdf(pages: int = 40, ops: int = 150_000) -> bytes:
    """A ~13 kB PDF whose pages share one content stream that takes pypdf ~5 s per page to read."""
    stream = zlib.compress(b"BT /F1 12 Tf " + b"(x) Tj 1 0 Td " * ops + b"ET", 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages)).encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(pages).encode() + b" >>",
               b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + stream
               + b"\nendstream"]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << "
                b"/F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"] * pages
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


@pytest.fixture
def queued(tmp_path):
    """Jobs are queued (a SQLite queue of the test's own), not run in the request."""
    saved = jobs.huey.storage_class, jobs.huey.storage_kwargs
    jobs.huey.storage_class, jobs.huey.storage_kwargs = SqliteStorage, {"filename": str(tmp_path / "jobs.db")}
    jobs.huey.immediate = False
    yield jobs.huey
    jobs.huey.immediate = True
    jobs.huey.storage_class, jobs.huey.storage_kwargs = saved


def test_a_slow_pdf_is_queued_shown_as_processing_and_stopped_by_its_budget(app, grid, auth, client, queued):
    data = slow_pdf()
    auth.login(grid["trainer"])
    started = time.monotonic()
    response = client.post("/materials/upload", data={"title": "复杂文档", "file": (io.BytesIO(data), "slow.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and time.monotonic() - started < 5  # ~200 s of pypdf not in the request
    assert len(queued) == 1
    material = db.session.scalar(select(Material))
    page = client.get(f"/materials/{material.id}").get_data(as_text=True)
    assert "正在处理" in page
    started = time.monotonic()
    extract_material_text.call_local(material.id)  # what the consumer does with the queued job
    assert time.monotonic() - started < 20  # three pages over the 2 s page budget end it
    db.session.expire_all()
    material = db.session.get(Material, material.id)
    assert material.text_status == "failed" and "过于复杂" in material.text_note
    page = client.get(f"/materials/{material.id}").get_data(as_text=True)
    assert "未能提取文字" in page and "正在处理" not in page


def test_in_tests_a_job_runs_at_once_and_the_text_is_there(app, grid, auth, client):
    from courses.demo_library import simple_pdf

    auth.login(grid["trainer"])
    data = simple_pdf("党费工作规定", ["第一条 为了规范党费收缴。"])
    client.post("/materials/upload", data={"title": "党费", "file": (io.BytesIO(data), "f.pdf")},
                content_type="multipart/form-data")
    material = db.session.scalar(select(Material))
    assert material.text_status == "ready" and "规范党费收缴" in material.text
