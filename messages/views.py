"""The message center: a bell with the unread count in the navbar, the page of one's messages, marking them
read; organizers send reminders from the report lists."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.extensions import db
from core.permissions import Role, login_required, role_required
from core.views import safe_next
from messages import services

bp = Blueprint("messages", __name__, url_prefix="/messages")

KIND_LABELS = {
    "reminder": _l("组织提醒"), "course_assigned": _l("必修课程"), "due_soon": _l("即将到期"),
    "application_approved": _l("报名通过"), "application_rejected": _l("报名未通过"),
    "certificate_issued": _l("证书"),
}


@bp.app_context_processor
def message_bell():
    def unread_messages() -> int:
        return services.unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_messages": unread_messages, "message_kinds": KIND_LABELS}


@bp.get("/")
@login_required
def index():
    page = db.paginate(services.messages_of(current_user), per_page=current_app.config["PER_PAGE"])
    return render_template("messages/index.html", page=page, unread=services.unread_count(current_user))


@bp.post("/<int:message_id>/read")
@login_required
def read(message_id: int):
    services.mark_read(current_user, message_id)
    db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("messages.index")))


@bp.post("/read-all")
@login_required
def read_all():
    services.mark_read(current_user)
    db.session.commit()
    return redirect(url_for("messages.index"))


@bp.post("/remind")
@role_required(Role.ORGANIZER)
def remind():
    """Send a reminder to the members chosen on a report list (only those of the organizer's subtree)."""
    text = (request.form.get("text") or "").strip() or _("您的学习进度落后，请尽快登录开放式网络党校完成学习。")
    sent = services.remind(current_user, request.form.getlist("member_id", type=int), text,
                           link=url_for("learning.my_hours") if "learning.my_hours" in current_app.view_functions else "")
    db.session.commit()
    if sent:
        flash(_("已向 %(n)d 人发送提醒。", n=sent), "success")
    else:
        flash(_("请先勾选要提醒的人员。"), "warning")
    return redirect(safe_next(request.form.get("next"), url_for("reports.reminders")))
