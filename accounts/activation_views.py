"""Getting in and out: activation and reset codes (/activate, /forgot), activation slips for organizers,
sending a code by SMS, and signing a member out everywhere."""
from __future__ import annotations

from datetime import timedelta

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from markupsafe import Markup
from werkzeug.exceptions import Forbidden, NotFound

from accounts import codes, services, sms
from accounts.forms import ActivateForm
from core import clock
from core.extensions import db
from core.permissions import Role, public, role_required

bp = Blueprint("activation", __name__)

CODE_MESSAGES = {
    codes.CodeProblem.WRONG: lambda: _("手机号或激活码不正确，请核对激活单上的内容后重试。"),
    codes.CodeProblem.EXPIRED: lambda: _("该激活码已过期，请联系您的组织管理员重新发放。"),
    codes.CodeProblem.USED: lambda: _("该激活码已使用过。如忘记密码，请联系您的组织管理员发放重置码。"),
    codes.CodeProblem.INACTIVE: lambda: _("该账号已停用，请联系您的组织管理员。"),
}


def site_url() -> str:
    return (current_app.config.get("SITE_URL") or request.url_root).rstrip("/")


@bp.route("/activate", methods=["GET", "POST"])
@public
def activate():
    """Phone + code + a new password. The QR code on a slip opens /activate?code=... with the code filled in."""
    form = ActivateForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = codes.normalise_code(request.args["code"])
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        retry_after = services.reserve_attempt("code", form.phone.data, address)
        db.session.commit()
        if retry_after:
            flash(_("尝试次数过多，请 %(minutes)d 分钟后再试。", minutes=max(1, (retry_after + 59) // 60)), "danger")
            status = 429
        else:
            try:
                user = codes.redeem_code(form.phone.data, form.code.data, form.password.data)
            except codes.CodeError as error:
                db.session.rollback()
                flash(CODE_MESSAGES[error.problem](), "danger")
                status = 400
            except services.PasswordRejected as error:
                db.session.rollback()
                form.password.errors.append(str(error))
                status = 400
            else:
                services.forgive_attempt("code", form.phone.data, address)
                db.session.commit()
                login_user(user)
                flash(_("密码已设置，欢迎！以后请用手机号和新密码登录。"), "success")
                return redirect(url_for("core.index"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/activate.html", form=form), status


@bp.get("/forgot")
@public
def forgot():
    return render_template("accounts/forgot.html")


def _slip_members():
    """The members chosen on the form (member_id, repeated) or a subtree (org_id): 403 outside the subtree."""
    member_ids = request.form.getlist("member_id", type=int)
    org_id = request.form.get("org_id", type=int)
    if member_ids:
        return codes.members_for_slips(current_user, member_ids=member_ids)
    if org_id:
        try:
            org = services.organization_in_scope(current_user, org_id)
        except NotFound:
            raise Forbidden() from None
        return codes.members_for_slips(current_user, org=org)
    return codes.members_for_slips(current_user, org=services.scope_root(current_user))


def _learner_in_scope(member_id: int):
    """A member or trainer of the organizer's subtree (another organizer or an admin only for an admin)."""
    member = services.member_in_scope(current_user, member_id)
    if member.role not in (Role.MEMBER, Role.TRAINER) and current_user.role != Role.ADMIN:
        raise Forbidden()
    return member


@bp.post("/members/slips")
@role_required(Role.ORGANIZER)
def slips():
    """A print-ready page of activation slips (A4, eight a page): each issues a new code."""
    if request.form.get("selection") and not request.form.getlist("member_id"):
        flash(_("请先勾选要打印激活单的人员。"), "warning")
        return redirect(url_for("accounts.members"))
    members = _slip_members()
    if not members:
        flash(_("没有需要打印激活单的党员：所选范围内的党员都已设置密码。"), "info")
        return redirect(url_for("accounts.members"))
    issued = codes.issue_slips(current_user, members)
    db.session.commit()
    base = site_url()
    rendered = []
    for slip in issued:
        link = f"{base}{url_for('activation.activate', code=slip.code)}"
        qr = segno.make(link, error="m")
        rendered.append({"slip": slip, "code": codes.format_code(slip.code), "phone": sms.mask_phone(slip.member.phone),
                         "qr": Markup(qr.svg_inline(scale=3, border=1, title=_("扫码激活")))})
    response = current_app.make_response(render_template(
        "accounts/slips.html", slips=rendered, site=base, activate_url=base + url_for("activation.activate"),
        expires=clock.utcnow() + timedelta(days=current_app.config["ACTIVATION_CODE_DAYS"])))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/members/<int:member_id>/send-code")
@role_required(Role.ORGANIZER)
def send_code(member_id: int):
    """A new activation/reset code by SMS (the console backend logs it)."""
    member = _learner_in_scope(member_id)
    code = codes.issue_code(member, by=current_user)
    db.session.commit()
    text = (_("【%(site)s】您的激活码：%(code)s，%(days)d 天内有效。请访问 %(url)s 设置密码。")
            if not member.has_usable_password else
            _("【%(site)s】您的密码重置码：%(code)s，%(days)d 天内有效。请访问 %(url)s 设置新密码。"))
    text = text % {"site": _("开放式网络党校"), "code": codes.format_code(code),
                   "days": current_app.config["ACTIVATION_CODE_DAYS"], "url": site_url() + url_for("activation.activate")}
    if sms.send_sms(member.phone, text):
        flash(_("已向 %(phone)s 发送短信。", phone=sms.mask_phone(member.phone)), "success")
    else:
        flash(_("短信发送失败，请改用打印激活单。"), "danger")
    return redirect(url_for("accounts.member_detail", member_id=member.id))


@bp.post("/members/<int:member_id>/sign-out")
@role_required(Role.ORGANIZER)
def sign_out_member(member_id: int):
    """Sign a member out on every device (e.g. a lost phone)."""
    member = _learner_in_scope(member_id)
    services.sign_out_everywhere(member)
    db.session.commit()
    flash(_("已让 %(name)s 在所有设备上退出登录。", name=member.name), "info")
    return redirect(url_for("accounts.member_detail", member_id=member.id))
