"""Authoring pages for trainers (/teach/) and required-course assignment for organizers (/required-courses/)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accounts import services as account_services
from core import clock, storage
from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, role_required
from core.requests import accepts_upload
from courses import pages, services
from courses.forms import AssignForm, CourseForm, LectureForm
from courses.models import Audience, Course, CourseStatus, CreditMode, Lecture, LectureKind, RequiredAssignment
from courses import enrollments
from accounts.models import Organization, User
from core.spreadsheets import neutralise

bp = Blueprint("courses_teach", __name__)

NAV_LINKS = [
    NavLink("courses_teach.index", _l("我的授课"), frozenset({Role.TRAINER})),
    NavLink("courses_teach.assignments", _l("必修课程"), frozenset({Role.ORGANIZER})),
]
STAFF = (Role.TRAINER,)


def course_or_404(course_id: int) -> Course:
    """A course the current user may edit (owner, co-author, admin): 404 if none, 403 if someone else's."""
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    if not services.can_edit(current_user, course):
        abort(403)
    return course


def lecture_or_404(lecture_id: int) -> Lecture:
    """A live lecture of a course the current user may edit (as ``course_or_404``)."""
    lecture = db.session.scalar(select(Lecture).options(joinedload(Lecture.course))
                                .where(Lecture.id == lecture_id, Lecture.deleted_at.is_(None)))
    if lecture is None:
        abort(404)
    if not services.can_edit(current_user, lecture.course):
        abort(403)
    return lecture


# --- courses -----------------------------------------------------------------------------------

@bp.get("/teach/")
@role_required(*STAFF)
def index():
    mine = request.args.get("all") is None
    stmt = services.catalog_query(current_user, authoring=True)
    if mine and current_user.role != Role.ADMIN:
        stmt = stmt.where(Course.created_by_id == current_user.id)
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=20, error_out=False)
    return render_template("courses/teach/index.html", page=page, mine=mine)


def _course_fields(form: CourseForm) -> dict | None:
    """Form -> service fields; None (with the error on the form) when the organization code is unknown."""
    org = None
    if form.org_code.data:
        org = account_services.organization_by_code(form.org_code.data.strip())
        if org is None:
            form.org_code.errors.append(_("没有这个组织代码。"))
            return None
    fields = {"title": form.title.data, "summary": form.summary.data or "", "category": form.category.data or "",
              "audience": Audience(form.audience.data), "org": org,
              "credit_mode": CreditMode(form.credit_mode.data), "credit_hours": form.credit_hours.data}
    upload = form.cover.data
    if upload is not None and getattr(upload, "filename", ""):
        try:
            stored = storage.save_upload(upload, allowed={"png", "jpeg", "webp"})
        except storage.UploadError as error:
            form.cover.errors.append(error.message)
            return None
        fields["cover_key"] = stored.key
    return fields


@bp.route("/teach/courses/new", methods=["GET", "POST"])
@role_required(*STAFF)
@accepts_upload("MAX_IMAGE_BYTES")
def new_course():
    form = CourseForm()
    if form.validate_on_submit():
        fields = _course_fields(form)
        if fields is not None:
            course = services.create_course(current_user, tags=form.tags.data or "", **fields)
            db.session.commit()
            flash(_("课程已创建，接下来添加课时。"), "success")
            return redirect(url_for("courses_teach.edit_course", course_id=course.id))
    status = 400 if request.method == "POST" else 200
    return render_template("courses/teach/course_form.html", form=form, course=None), status


@bp.route("/teach/courses/<int:course_id>", methods=["GET", "POST"])
@role_required(*STAFF)
@accepts_upload("MAX_IMAGE_BYTES")
def edit_course(course_id: int):
    course = course_or_404(course_id)
    form = CourseForm(obj=course)
    if request.method == "GET":
        form.tags.data = "，".join(course.tags)
        form.org_code.data = course.org.code if course.org else ""
        form.audience.data = course.audience.value
        form.credit_mode.data = course.credit_mode.value
    if form.validate_on_submit():
        fields = _course_fields(form)
        if fields is not None:
            services.update_course(course, current_user, tags=form.tags.data or "", **fields)
            db.session.commit()
            flash(_("课程信息已保存。"), "success")
            return redirect(url_for("courses_teach.edit_course", course_id=course.id))
    status = 400 if request.method == "POST" else 200
    return render_template("courses/teach/course.html", form=form, course=course,
                           lectures=services.live_lectures(course), problems=services.publish_problems(course),
                           changes=services.changes_of(course), authors=services.authors_of(course)), status


@bp.post("/teach/courses/<int:course_id>/authors")
@role_required(*STAFF)
def add_author(course_id: int):
    """The owner (or an admin) adds a co-author by phone or username."""
    course = course_or_404(course_id)
    author = account_services.find_user_by_login(request.form.get("login", "")[:100])
    try:
        if author is None:
            raise services.CourseError(_("找不到这个手机号或用户名。"))
        services.add_author(course, author, current_user)
    except services.CourseError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("已添加合作者。"), "success")
    return redirect(url_for("courses_teach.edit_course", course_id=course.id))


@bp.get("/teach/courses/<int:course_id>/history")
@role_required(*STAFF)
def history(course_id: int):
    """Every change to the course since it was published: who, when, what."""
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return render_template("courses/teach/history.html", course=course, changes=services.changes_of(course))


@bp.post("/teach/courses/<int:course_id>/publish")
@role_required(*STAFF)
def publish(course_id: int):
    course = course_or_404(course_id)
    try:
        services.publish(course, current_user)
    except services.CourseError as error:
        flash(error.message + " " + "；".join(error.problems), "danger")
        return redirect(url_for("courses_teach.edit_course", course_id=course.id))
    db.session.commit()
    flash(_("课程已发布。"), "success")
    return redirect(url_for("courses_teach.edit_course", course_id=course.id))


@bp.post("/teach/courses/<int:course_id>/archive")
@role_required(*STAFF)
def archive(course_id: int):
    course = course_or_404(course_id)
    services.archive(course, current_user)
    db.session.commit()
    flash(_("课程已归档：不再出现在课程目录中，学习记录保留。"), "info")
    return redirect(url_for("courses_teach.edit_course", course_id=course.id))


@bp.get("/teach/courses/<int:course_id>/preview")
@role_required(*STAFF)
def preview(course_id: int):
    course = pages.course_for_page(course_id)
    if course is None:
        abort(404)
    syllabus = pages.course_syllabus(course)
    return render_template("courses/detail.html", course=course, syllabus=syllabus, preview=True,
                           **pages.course_viewer(course, syllabus, {}, preview=True))


# --- lectures ----------------------------------------------------------------------------------

def _local(value):
    return services.local_to_utc(value, current_app.config["DISPLAY_TIMEZONE"])


def _lecture_fields(form: LectureForm, kind: LectureKind) -> dict:
    fields = {"title": form.title.data, "body_markdown": form.body_markdown.data or ""}
    if form.reading_minutes.data:
        fields["reading_seconds"] = form.reading_minutes.data * 60
    elif kind == LectureKind.DOCUMENT:
        fields["reading_seconds"] = fields.get("reading_seconds") or 10 * 60
    if kind == LectureKind.OFFLINE:
        fields.update(starts_at=_local(form.starts_at.data), ends_at=_local(form.ends_at.data),
                      place=(form.place.data or "").strip() or None)
    return fields


def _has_file(field) -> bool:
    return field.data is not None and bool(getattr(field.data, "filename", ""))


def _uploaded_fields(form: LectureForm, kind: LectureKind, course: Course, title: str) -> dict | None:
    """Store the lecture's video (probed for its duration) or PDF (added to the materials library) from the
    form, before the lecture is written. Returns the lecture fields they give, or None with the error on
    the form (nothing is kept)."""
    if kind == LectureKind.VIDEO and _has_file(form.video):
        from courses import media

        try:
            stored = storage.save_upload(form.video.data, allowed={"mp4", "webm"})
        except storage.UploadError as error:
            form.video.errors.append(error.message)
            return None
        try:
            info = media.probe_video(stored.path)
        except storage.UploadError as error:
            storage.discard(stored.key)
            form.video.errors.append(error.message)
            return None
        return {"media_key": stored.key, "media_mime": stored.mime, "media_size": stored.size,
                "duration_seconds": info.duration_seconds}
    if kind == LectureKind.DOCUMENT and _has_file(form.document):
        from courses import materials

        upload = form.document.data
        head = upload.stream.read(5)
        upload.stream.seek(0)
        if head != b"%PDF-":
            form.document.errors.append(_("请上传 PDF 文档。"))
            return None
        try:
            material = materials.add_material(upload, title=title, uploaded_by=current_user, course=course,
                                              audience=course.audience, org=course.org, background=True)
        except materials.DuplicateMaterial as duplicate:
            material = duplicate.existing
        except storage.UploadError as error:
            form.document.errors.append(error.message)
            return None
        return {"material_id": material.id}
    return {}


def _extract_in_background(lecture: Lecture) -> None:
    """After the commit: a newly uploaded document's text is extracted by a job."""
    from courses import materials

    if lecture.material is not None and lecture.material.text_status == "processing":
        materials.extract_material_text(lecture.material.id)


def _save_lecture(form: LectureForm, course: Course, lecture: Lecture | None) -> Lecture | None:
    """Create or update a lecture from the form; None (errors on the form, nothing written) if refused."""
    kind = lecture.kind if lecture else LectureKind(form.kind.data)
    uploads = _uploaded_fields(form, kind, course, form.title.data)
    if uploads is None:
        db.session.rollback()
        return None
    fields = _lecture_fields(form, kind) | uploads
    try:
        if lecture is None:
            return services.add_lecture(course, current_user, kind=kind, **fields)
        return services.update_lecture(lecture, current_user, **fields)
    except services.CourseError as error:
        db.session.rollback()
        storage.discard(uploads.get("media_key"))
        form.ends_at.errors.append(error.message)
        return None


def _render_lecture_form(form, course, lecture, status=200):
    return render_template("courses/teach/lecture_form.html", form=form, course=course, lecture=lecture), status


@bp.route("/teach/courses/<int:course_id>/lectures/new", methods=["GET", "POST"])
@role_required(*STAFF)
@accepts_upload("MAX_VIDEO_BYTES")
def new_lecture(course_id: int):
    course = course_or_404(course_id)
    form = LectureForm()
    if request.method == "GET" and request.args.get("kind") in {k.value for k in LectureKind}:
        form.kind.data = request.args["kind"]
    saved = form.validate_on_submit() and _save_lecture(form, course, None)
    if saved:
        db.session.commit()
        _extract_in_background(saved)
        flash(_("课时已添加。"), "success")
        return redirect(url_for("courses_teach.edit_course", course_id=course_id))
    return _render_lecture_form(form, course, None, 400 if request.method == "POST" else 200)


@bp.route("/teach/lectures/<int:lecture_id>", methods=["GET", "POST"])
@role_required(*STAFF)
@accepts_upload("MAX_VIDEO_BYTES")
def edit_lecture(lecture_id: int):
    lecture = lecture_or_404(lecture_id)
    form = LectureForm(obj=lecture)
    form.kind.data = lecture.kind.value
    if request.method == "GET":
        tz = current_app.config["DISPLAY_TIMEZONE"]
        form.starts_at.data = clock.to_local(lecture.starts_at, tz)
        form.ends_at.data = clock.to_local(lecture.ends_at, tz)
        if lecture.reading_seconds and lecture.kind != LectureKind.VIDEO:
            form.reading_minutes.data = max(1, lecture.reading_seconds // 60)
    course_id = lecture.course_id
    if form.validate_on_submit() and _save_lecture(form, lecture.course, lecture) is not None:
        db.session.commit()
        _extract_in_background(lecture)
        flash(_("课时已保存。"), "success")
        return redirect(url_for("courses_teach.edit_course", course_id=course_id))
    return _render_lecture_form(form, lecture.course, lecture, 400 if request.method == "POST" else 200)


@bp.post("/teach/lectures/<int:lecture_id>/move")
@role_required(*STAFF)
def move_lecture(lecture_id: int):
    lecture = lecture_or_404(lecture_id)
    services.move_lecture(lecture, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return redirect(url_for("courses_teach.edit_course", course_id=lecture.course_id) + "#lectures")


@bp.post("/teach/lectures/<int:lecture_id>/delete")
@role_required(*STAFF)
def delete_lecture(lecture_id: int):
    lecture = lecture_or_404(lecture_id)
    services.delete_lecture(lecture, current_user)
    db.session.commit()
    flash(_("课时已删除，学员的学习记录保留。"), "info")
    return redirect(url_for("courses_teach.edit_course", course_id=lecture.course_id))


@bp.get("/teach/courses/<int:course_id>/materials")
@role_required(*STAFF)
def pick_material(course_id: int):
    """Search the library by title for a material to attach to the course as a document lecture."""
    from courses import materials

    course = course_or_404(course_id)
    q = (request.args.get("q") or "").strip()[:100]
    return render_template("courses/teach/pick_material.html", course=course, q=q,
                           found=materials.attachable_materials(course, q or None))


@bp.post("/teach/courses/<int:course_id>/materials/<int:material_id>/attach")
@role_required(*STAFF)
def attach_material(course_id: int, material_id: int):
    from courses import materials

    course = course_or_404(course_id)
    material = materials.is_attachable(course, material_id)
    if material is None:  # archived, another course's, or narrower than the course's learners
        abort(404)
    services.attach_material(course, current_user, material)
    db.session.commit()
    flash(_("已将资料《%(title)s》添加为文档课时。", title=material.title), "success")
    return redirect(url_for("courses_teach.edit_course", course_id=course.id) + "#lectures")


# --- required courses (organizers) ---------------------------------------------------------------

def scoped_assignments(user):
    stmt = (select(RequiredAssignment).options(joinedload(RequiredAssignment.course),
                                               joinedload(RequiredAssignment.org))
            .where(RequiredAssignment.revoked_at.is_(None)))
    root = account_services.scope_root(user)
    if root is not None:
        stmt = stmt.join(Organization, RequiredAssignment.org_id == Organization.id).where(
            account_services.subtree_condition(root))
    return stmt.order_by(RequiredAssignment.due_date, RequiredAssignment.id)


@bp.route("/required-courses/", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def assignments():
    root = account_services.scope_root(current_user)
    form = AssignForm()
    if request.method == "GET":
        form.org_code.data = root.code if root else ""
        form.course_id.data = request.args.get("course_id", type=int)
    if form.validate_on_submit():
        org = account_services.organization_by_code(form.org_code.data.strip())
        course = db.session.get(Course, form.course_id.data)
        if org is None or (root is not None and not org.is_within(root)):
            form.org_code.errors.append(_("只能指派给您管理范围内的组织。"))
        elif course is None or course.status != CourseStatus.PUBLISHED:
            form.course_id.errors.append(_("请选择一门已发布的课程。"))
        else:
            try:
                enrollments.assign_required(course, org, form.due_date.data, current_user)
            except enrollments.EnrollmentError as error:
                form.course_id.errors.append(str(error))
            else:
                db.session.commit()
                flash(_("已将《%(course)s》指派为 %(org)s 的必修课程。", course=course.title, org=org.name), "success")
                return redirect(url_for("courses_teach.assignments"))
    rows = db.session.scalars(scoped_assignments(current_user)).all()
    summaries = {row.id: enrollments.assignment_summary(row) for row in rows}
    published = db.session.execute(select(Course.id, Course.title).where(Course.status == CourseStatus.PUBLISHED)
                                   .order_by(Course.published_at.desc()).limit(200)).all()
    status = 400 if request.method == "POST" else 200
    return render_template("courses/teach/assignments.html", form=form, rows=rows, published=published,
                           root=root, summaries=summaries), status


def assignment_or_404(assignment_id: int) -> RequiredAssignment:
    assignment = db.session.scalar(scoped_assignments(current_user).where(RequiredAssignment.id == assignment_id))
    if assignment is None:
        abort(404)
    return assignment


@bp.get("/required-courses/<int:assignment_id>")
@role_required(Role.ORGANIZER)
def assignment_detail(assignment_id: int):
    """Who has finished a required course, who is overdue, and excusals from past offline lectures."""
    assignment = assignment_or_404(assignment_id)
    rows = enrollments.assignment_members(assignment)
    return render_template("courses/teach/assignment.html", assignment=assignment, rows=rows,
                           overdue=sum(r["overdue"] for r in rows), finished=sum(r["finished"] for r in rows))


@bp.get("/required-courses/<int:assignment_id>/export.csv")
@role_required(Role.ORGANIZER)
def assignment_export(assignment_id: int):
    import csv
    import io

    from flask import Response

    assignment = assignment_or_404(assignment_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("姓名"), _("组织"), _("课程"), _("截止日期"), _("进度"), _("状态")])
    for row in enrollments.assignment_members(assignment):
        state = _("已完成") if row["finished"] else _("已逾期") if row["overdue"] else _("未完成")
        writer.writerow([neutralise(row["user"].name), neutralise(row["user"].organization.name),
                         neutralise(assignment.course.title), assignment.due_date.isoformat(),
                         f"{row['done']}/{row['total']}", state])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=required-{assignment.id}.csv"})


@bp.post("/required-courses/<int:assignment_id>/excuse")
@role_required(Role.ORGANIZER)
def excuse(assignment_id: int):
    """Excuse a member from a past offline lecture of the course (免修), or record a make-up (已补课)."""
    assignment = assignment_or_404(assignment_id)
    member = db.session.get(User, request.form.get("member_id", type=int) or 0)
    lecture = db.session.get(Lecture, request.form.get("lecture_id", type=int) or 0)
    if member is None or lecture is None or lecture.course_id != assignment.course_id:
        abort(404)
    try:
        enrollments.excuse_from_lecture(member, lecture, current_user, request.form.get("kind", ""),
                                        request.form.get("reason", ""))
    except enrollments.EnrollmentError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(_("已为%(name)s办理《%(lecture)s》的免修/补课。", name=member.name, lecture=lecture.title), "success")
    return redirect(url_for("courses_teach.assignment_detail", assignment_id=assignment.id))


@bp.post("/required-courses/<int:assignment_id>/revoke")
@role_required(Role.ORGANIZER)
def revoke(assignment_id: int):
    assignment = db.session.scalar(scoped_assignments(current_user).where(RequiredAssignment.id == assignment_id))
    if assignment is None:
        abort(404)
    enrollments.unassign(assignment, current_user)
    db.session.commit()
    flash(_("已取消必修指派，学员已学的内容保留。"), "info")
    return redirect(url_for("courses_teach.assignments"))
