"""JSON API for the study materials library: the same visibility as the pages."""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from core.api import PAGE_PARAMETERS, ApiError, api_blueprint, doc, paged
from core.extensions import db
from core.permissions import login_required
from courses.materials import visible_materials
from courses.models import Material
from courses.visibility import can_view_material

bp = api_blueprint("courses_library_api", __name__)

MATERIAL_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "category": {"type": "string"},
    "kind": {"type": "string", "enum": ["pdf", "docx", "txt", "md"]}, "filename": {"type": "string"},
    "mime": {"type": "string"}, "size": {"type": "integer"}, "audience": {"type": "string"},
    "org_id": {"type": ["integer", "null"]}, "course_id": {"type": ["integer", "null"]},
    "created_at": {"type": "string", "format": "date-time"}, "url": {"type": "string"},
    "file_url": {"type": "string"}, "text": {"type": "string", "description": "detail only"}}}


def material_json(material: Material, with_text: bool = False) -> dict:
    data = {
        "id": material.id, "title": material.title, "category": material.category, "kind": material.file_kind,
        "filename": material.filename, "mime": material.mime, "size": material.size,
        "audience": material.audience.value, "org_id": material.org_id, "course_id": material.course_id,
        "created_at": material.created_at.isoformat() + "Z",
        "url": url_for("courses_library.detail", material_id=material.id),
        "file_url": url_for("courses_library.file", material_id=material.id),
    }
    if with_text:
        data["text"] = material.text
    return data


@bp.get("/materials")
@login_required
@doc("List the study materials the caller may see, newest first", tag="materials",
     parameters=PAGE_PARAMETERS + [{"name": "category", "in": "query", "schema": {"type": "string"}}],
     responses={"200": {"description": "A page of materials", "content": {"application/json": {"schema": {
         "type": "object", "properties": {"items": {"type": "array", "items": MATERIAL_SCHEMA},
                                          "page": {"type": "integer"}, "per_page": {"type": "integer"},
                                          "total": {"type": "integer"}}}}}}})
def list_materials():
    category = request.args.get("category", "").strip() or None
    return paged(visible_materials(current_user, category=category), material_json)


@bp.get("/materials/<int:material_id>")
@login_required
@doc("One study material with its extracted text", tag="materials",
     responses={"200": {"description": "The material", "content": {"application/json": {"schema": MATERIAL_SCHEMA}}},
                "404": {"description": "No such material, or not visible to the caller"}})
def get_material(material_id: int):
    material = db.session.get(Material, material_id)
    if material is None or not can_view_material(current_user, material):
        raise ApiError(404, "material not found")
    return material_json(material, with_text=True)
