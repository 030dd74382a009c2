"""Study materials (学习资料): add (deduplicated by content), archive, list what a user may see.

Services flush; the view or CLI command commits.
"""
from __future__ import annotations

from sqlalchemy import func, select

from core import clock, storage
from core.jobs import job
from core.extensions import db
from core.storage import DOCUMENT_KINDS, UploadError
from courses.document_titles import document_title
from courses.extract import check_document, extract_text
from courses.models import Audience, Material
from courses.visibility import attachable_condition, material_condition


class DuplicateMaterial(Exception):
    """The same content (SHA-256) is already in the library as ``existing``."""

    def __init__(self, existing: Material):
        super().__init__(f"duplicate of material {existing.id}")
        self.existing = existing


def find_by_sha256(sha256: str) -> Material | None:
    return db.session.scalar(select(Material).where(Material.sha256 == sha256))


BACKGROUND_KINDS = {"pdf", "docx"}  # extraction that may take long runs as a job when asked to


def add_material(file, *, title: str | None = None, uploaded_by=None, course=None,
                 audience: Audience = Audience.PUBLIC, category: str = "", org=None,
                 background: bool = False) -> Material:
    """Store ``file`` (FileStorage, path or binary stream), extract its text, add it to the library.

    ``background``: a PDF or DOCX is added "processing" with no text yet; after the caller's commit,
    ``extract_material_text(material.id)`` (a job) fills it in. Otherwise the text is extracted now (CLI, demo).
    Raises UploadError (wrong type, too large, unreadable: nothing is kept) or DuplicateMaterial.
    """
    stored = storage.save_upload(file, allowed=DOCUMENT_KINDS)
    try:
        existing = find_by_sha256(stored.sha256)
        if existing is not None:
            raise DuplicateMaterial(existing)
        later = background and stored.kind in BACKGROUND_KINDS
        if later:
            check_document(stored.path, stored.kind)  # a broken file is refused now, not by the job
        text = "" if later else extract_text(stored.path, stored.kind)
        material = Material(
            title=(title or "").strip()[:300] or document_title(stored.path, stored.kind, text, stored.filename),
            file_kind=stored.kind,
            file_key=stored.key, filename=stored.filename, mime=stored.mime, size=stored.size,
            sha256=stored.sha256, text=text, category=(category or "").strip()[:50], audience=Audience(audience),
            org_id=org.id if org is not None else None, course_id=course.id if course is not None else None,
            uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
            text_status="processing" if later else "ready", text_note="")
        db.session.add(material)
        # Two uploads of the same content at the same moment: the unique sha256 refuses the second.
        # (No savepoint to recover with: pysqlite's savepoints lose the outer transaction's rows.)
        db.session.flush()
    except BaseException:
        storage.discard(stored.key)
        raise
    return material


@job
def extract_material_text(material_id: int) -> None:
    """The job: extract a "processing" material's text within the extraction budgets, then commit it (its own
    unit of work, like a CLI command). A document over budget is marked "failed" with the reason shown."""
    material = db.session.get(Material, material_id)
    if material is None or material.text_status != "processing":
        return
    try:
        text = extract_text(storage.path_for(material.file_key), material.file_kind)
    except UploadError as error:
        material.text_status, material.text_note = "failed", error.message[:300]
    else:
        material.text, material.text_status, material.text_note = text, "ready", ""
    db.session.commit()


def archive_material(material: Material, by=None) -> None:
    """Hide a material from the library; its row and file stay (lectures and study records keep it)."""
    if material.deleted_at is None:
        material.deleted_at = clock.utcnow()
    db.session.flush()


def restore_material(material: Material, by=None) -> None:
    material.deleted_at = None
    db.session.flush()


def visible_materials(user, category: str | None = None, course=None):
    """A select of the materials ``user`` may see, newest first, optionally of one category or course."""
    stmt = select(Material).where(material_condition(user))
    if category:
        stmt = stmt.where(Material.category == category)
    if course is not None:
        stmt = stmt.where(Material.course_id == course.id)
    return stmt.order_by(Material.created_at.desc(), Material.id.desc())


def attachable_materials(course, q: str | None = None, limit: int = 20) -> list[Material]:
    """Library materials a trainer may attach to ``course`` (``visibility.attachable_condition``), by title."""
    stmt = select(Material).where(attachable_condition(course))
    if q:
        stmt = stmt.where(Material.title.contains(q.strip(), autoescape=True))
    return list(db.session.scalars(stmt.order_by(Material.created_at.desc(), Material.id.desc()).limit(limit)))


def is_attachable(course, material_id: int) -> Material | None:
    return db.session.scalar(select(Material).where(Material.id == material_id, attachable_condition(course)))


def visible_categories(user) -> list[str]:
    stmt = (select(Material.category, func.count()).where(material_condition(user), Material.category != "")
            .group_by(Material.category).order_by(Material.category))
    return [row[0] for row in db.session.execute(stmt)]


__all__ = ["DuplicateMaterial", "UploadError", "add_material", "archive_material", "attachable_materials",
           "extract_material_text",
           "is_attachable", "restore_material", "visible_materials", "visible_categories", "find_by_sha256"]
