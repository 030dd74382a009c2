"""The study materials library (学习资料库) pages, material files, and the lecture video stream."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from accounts.models import Organization
from core import storage
from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, login_required, role_required
from core.storage import UploadError
from core.requests import accepts_upload
from courses import reading
from courses.materials import (DuplicateMaterial, add_material, archive_material, extract_material_text,
                              visible_categories, visible_materials)
from courses.models import Audience, Lecture, LectureKind, Material
from courses.services import can_edit
from courses.visibility import can_view_lecture, can_view_material, is_staff

bp = Blueprint("courses_library", __name__)

NAV_LINKS = [NavLink("courses_library.index", _l("学习资料"))]

AUDIENCE_LABELS = {Audience.PUBLIC: _l("公开（所有学员）"), Audience.MEMBERS: _l("仅党员")}
KIND_LABELS = {"pdf": "PDF", "docx": "Word", "txt": _l("文本"), "md": "Markdown"}


class MaterialUploadForm(FlaskForm):
    file = FileField(_l("文件"), validators=[FileRequired(_l("请选择要上传的文件。"))],
                     description=_l("PDF、Word（DOCX）、TXT 或 Markdown，不超过 50 MB。"))
    title = StringField(_l("标题"), validators=[Optional(), Length(max=300)],
                        description=_l("留空则使用文档第一行的标题或文件名。"))
    category = StringField(_l("分类"), validators=[Optional(), Length(max=50)],
                           description=_l("例如：党章党规、理论学习、志愿服务。"))
    audience = SelectField(_l("可见范围"), choices=[SelectChoice(a.value, AUDIENCE_LABELS[a]) for a in Audience],
                           default=Audience.PUBLIC.value)
    org_code = StringField(_l("限定组织（编码）"), validators=[Optional(), Length(max=64)],
                           description=_l("填写组织编码后，只有该组织及下级组织的学员可见；留空则不限。"))

    def validate_org_code(self, field):
        from wtforms.validators import ValidationError

        if field.data and self.org is None:
            raise ValidationError(_l("没有这个组织编码。"))

    @property
    def org(self) -> Organization | None:
        code = (self.org_code.data or "").strip()
        return db.session.scalar(select(Organization).where(Organization.code == code)) if code else None


@bp.app_context_processor
def library_labels():
    return {"MATERIAL_KIND_LABELS": KIND_LABELS, "MATERIAL_AUDIENCE_LABELS": AUDIENCE_LABELS,
            "format_size": storage.format_size}


def visible_material_or_404(material_id: int) -> Material:
    material = db.session.get(Material, material_id)
    if material is None or not can_view_material(current_user, material):
        abort(404)
    return material


@bp.get("/materials/")
@login_required
def index():
    category = request.args.get("category", "").strip()
    page = db.paginate(visible_materials(current_user, category=category or None),
                       per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template("courses/library/index.html", page=page, category=category,
                           categories=visible_categories(current_user), can_upload=is_staff(current_user))


@bp.get("/materials/<int:material_id>")
@login_required
def detail(material_id: int):
    material = visible_material_or_404(material_id)
    pages = reading.reading_pages(material.text or "")
    number = min(max(request.args.get("page", 1, type=int), 1), len(pages))
    start, text = pages[number - 1]
    body = reading.reading_html(text, material.file_kind, request.args.get("hl"), start=start)
    return render_template("courses/library/detail.html", material=material, body=body, page=number,
                           pages=len(pages), can_manage=is_staff(current_user))


@bp.get("/materials/<int:material_id>/file")
@login_required
def file(material_id: int):
    material = visible_material_or_404(material_id)
    as_attachment = request.args.get("download") == "1" or material.file_kind == "docx"
    return storage.send_stored(material.file_key, mime=material.mime, download_name=material.filename,
                               as_attachment=as_attachment)


@bp.route("/materials/upload", methods=["GET", "POST"])
@role_required(Role.TRAINER)
@accepts_upload("MAX_VIDEO_BYTES")
def upload():
    form = MaterialUploadForm()
    status = 200
    if form.validate_on_submit():
        try:
            material = add_material(form.file.data, title=form.title.data, uploaded_by=current_user,
                                    audience=Audience(form.audience.data), category=form.category.data,
                                    org=form.org, background=True)
        except UploadError as error:
            form.file.errors = [error.message]
            status = 400
        except DuplicateMaterial as duplicate:
            existing = duplicate.existing
            form.file.errors = [_("资料库中已有内容相同的资料：《%(title)s》%(state)s。", title=existing.title,
                                  state=_("（已归档）") if existing.deleted_at else "")]
            status = 409
        else:
            db.session.commit()
            if material.text_status == "processing":
                extract_material_text(material.id)  # a job: this request does not wait for the text
            flash(_("资料《%(title)s》已上传。", title=material.title), "success")
            return redirect(url_for("courses_library.detail", material_id=material.id))
    elif request.method == "POST":
        status = 400
    return render_template("courses/library/upload.html", form=form), status


@bp.post("/materials/<int:material_id>/archive")
@role_required(Role.TRAINER)
def archive(material_id: int):
    material = visible_material_or_404(material_id)
    if not (current_user.role == Role.ADMIN or material.uploaded_by_id == current_user.id
            or (material.course is not None and can_edit(current_user, material.course))):
        abort(403)  # only who uploaded it, the authors of its course, or an admin
    archive_material(material, current_user)
    db.session.commit()
    flash(_("资料《%(title)s》已归档，学习记录仍然保留。", title=material.title), "info")
    return redirect(url_for("courses_library.index"))


@bp.get("/lectures/<int:lecture_id>/media")
@login_required
def lecture_media(lecture_id: int):
    """The video of a lecture, streamed with Range support so the player can seek."""
    lecture = db.session.get(Lecture, lecture_id)
    if (lecture is None or lecture.kind != LectureKind.VIDEO or not lecture.media_key
            or not can_view_lecture(current_user, lecture)):
        abort(404)
    ext = lecture.media_key.rsplit(".", 1)[-1]
    return storage.send_stored(lecture.media_key, mime=lecture.media_mime or storage.MIME_TYPES.get(ext, "video/mp4"),
                               download_name=f"{lecture.title}.{ext}", as_attachment=False)
