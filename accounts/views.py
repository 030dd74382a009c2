"""HTML pages: login, logout, registration, profile, and administration of users and members."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms.validators import Optional

from accounts import importer, services
from accounts.forms import (CATEGORY_LABELS, POSITION_LABELS, ROLE_LABELS, ChangePasswordForm, ImportForm, LoginForm,
                            MemberForm, OrganizationForm, RegisterForm, ResetPasswordForm, TransferForm,
                            UserCreateForm)
from accounts.models import MemberCategory, Position, User
from wtforms.validators import Optional
from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, login_required, public, role_required
from core.views import safe_next
from core.requests import accepts_upload

bp = Blueprint("accounts", __name__)

NAV_LINKS = [
    NavLink("accounts.members", _l("党员管理"), frozenset({Role.ORGANIZER})),
    NavLink("accounts.organizations", _l("组织架构"), frozenset({Role.ORGANIZER})),
    NavLink("accounts.admin_users", _l("用户管理"), frozenset({Role.ADMIN})),
]


@bp.app_context_processor
def labels():
    return {"CATEGORY_LABELS": CATEGORY_LABELS, "POSITION_LABELS": POSITION_LABELS, "ROLE_LABELS": ROLE_LABELS}


def client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("core.index")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        retry_after = services.reserve_login_attempt(form.identifier.data, client_address())
        db.session.commit()  # the attempt counts before the password is checked, and no lock waits on the hash
        user = None if retry_after else services.authenticate(form.identifier.data, form.password.data,
                                                              client_address())
        if user is not None:
            login_user(user, remember=form.remember.data)
            services.clear_login_failures(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next"), url_for("core.index")))
        if retry_after:
            minutes = max(1, (retry_after + 59) // 60)
            flash(_("登录失败次数过多，请 %(minutes)d 分钟后再试。", minutes=minutes), "danger")
            status = 429
        else:
            flash(_("手机号/用户名或密码不正确。"), "danger")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    services.sign_out_everywhere(current_user)  # the copied cookie, remember-me, other devices: all end
    db.session.commit()
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("core.index"))


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    if not current_app.config["ALLOW_PUBLIC_REGISTRATION"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = services.create_user(name=form.name.data, phone=form.phone.data, password=form.password.data,
                                    role=Role.PUBLIC, category=MemberCategory.PUBLIC)
        db.session.commit()
        login_user(user)
        flash(_("注册成功，欢迎来到开放式网络党校！"), "success")
        return redirect(url_for("core.index"))
    return render_template("accounts/register.html", form=form), 400 if request.method == "POST" else 200


@bp.get("/profile")
@login_required
def profile():
    return render_template("accounts/profile.html", tokens=services.tokens_of(current_user),
                           org_label=services.organization_label(current_user.organization))


@bp.route("/profile/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    form.policy_phone = current_user.phone
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.password.data)
        except services.PasswordRejected as error:
            form.password.errors.append(str(error))
        except services.AccountError:
            form.current.errors.append(_("当前密码不正确。"))
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # this browser stays signed in with the new session version
            flash(_("密码已修改。"), "success")
            return redirect(url_for("accounts.profile"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/password.html", form=form), status


@bp.post("/profile/tokens")
@login_required
def create_token():
    name = (request.form.get("name") or "").strip()[:100] or _("未命名令牌")
    _token, raw = services.issue_token(current_user, name)
    db.session.commit()
    flash(_("新的访问令牌（只显示这一次，请妥善保存）：%(token)s", token=raw), "warning")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    db.session.commit()
    flash(_("令牌已吊销。"), "info")
    return redirect(url_for("accounts.profile"))


# --- administration ---------------------------------------------------------------------------

@bp.get("/admin/users")
@role_required(Role.ADMIN)
def admin_users():
    q = request.args.get("q", "").strip()
    page = db.paginate(services.scoped_members(current_user, q), per_page=current_app.config["PER_PAGE"])
    return render_template("accounts/admin_users.html", page=page, q=q,
                           org_labels=services.organization_labels(u.organization for u in page.items))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        role = Role(form.role.data)
        org = services.organization_by_code(form.org_code.data.strip()) if form.org_code.data else None
        user = services.create_user(
            name=form.name.data, phone=form.phone.data, password=form.password.data or None, role=role,
            username=form.username.data or None,
            organization=org if role in (Role.MEMBER, Role.TRAINER, Role.ADMIN) else None,
            managed_org=org if role == Role.ORGANIZER else None,
            category=MemberCategory(form.category.data), positions=[Position(p) for p in form.positions.data])
        db.session.commit()
        flash(_("已创建用户 %(name)s。", name=user.name), "success")
        return redirect(url_for("accounts.admin_users"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/admin_user_new.html", form=form), status


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ResetPasswordForm()
    form.policy_phone = user.phone
    if form.validate_on_submit():
        services.reset_password(user, form.password.data)
        db.session.commit()
        flash(_("已重置 %(name)s 的密码。", name=user.name), "success")
        return redirect(url_for("accounts.admin_users"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/admin_reset_password.html", form=form, user=user), status


# --- organizers: members and organizations of their subtree ------------------------------------

@bp.get("/members")
@role_required(Role.ORGANIZER)
def members():
    q = request.args.get("q", "").strip()
    page = db.paginate(services.scoped_members(current_user, q), per_page=current_app.config["PER_PAGE"])
    org_labels = services.organization_labels(u.organization for u in page.items)
    return render_template("accounts/members.html", page=page, q=q, root=services.scope_root(current_user),
                           org_labels=org_labels)


@bp.get("/members/<int:member_id>")
@role_required(Role.ORGANIZER)
def member_detail(member_id: int):
    member = services.member_in_scope(current_user, member_id)
    return render_template("accounts/member_detail.html", member=member,
                           org_label=services.organization_label(member.organization))


@bp.get("/organizations")
@role_required(Role.ORGANIZER)
def organizations():
    orgs = db.session.scalars(services.scoped_organizations(current_user)).all()
    counts = services.member_counts(orgs)
    return render_template("accounts/organizations.html", orgs=orgs, counts=counts)


# --- organizers: keeping the grid -----------------------------------------------------------------------

def _org_in_scope_by_code(code: str):
    """The organization with ``code`` if it lies in the user's subtree, else None (existence not revealed)."""
    org = services.organization_by_code((code or "").strip())
    if org is None:
        return None
    root = services.scope_root(current_user)
    return org if root is None or org.is_within(root) else None


@bp.route("/organizations/new", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def organization_new():
    form = OrganizationForm()
    if request.method == "GET":
        parent = services.organization_in_scope(current_user, request.args.get("parent", type=int)) \
            if request.args.get("parent") else services.scope_root(current_user)
        form.parent_code.data = parent.code if parent else ""
    if form.validate_on_submit():
        parent = _org_in_scope_by_code(form.parent_code.data)
        if parent is None:
            form.parent_code.errors.append(_("找不到该组织编码，或不在您的管理范围。"))
        elif services.organization_by_code(form.code.data.strip()) is not None:
            form.code.errors.append(_("该编码已被使用。"))
        else:
            org = services.create_organization(form.code.data.strip(), form.name.data.strip(), form.kind.data.strip(),
                                               parent)
            db.session.commit()
            flash(_("已创建组织 %(name)s。", name=org.name), "success")
            return redirect(url_for("accounts.organizations"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/organization_form.html", form=form, org=None), status


@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def organization_edit(org_id: int):
    org = services.organization_in_scope(current_user, org_id)
    root = services.scope_root(current_user)
    is_scope_root = root is not None and root.id == org.id
    form = OrganizationForm(obj=org)
    if request.method == "GET":
        form.parent_code.data = org.parent.code if org.parent else ""
    if is_scope_root or org.parent is None:
        form.parent_code.validators = [Optional()]
    if form.validate_on_submit():
        code = form.code.data.strip()
        parent_code = (form.parent_code.data or "").strip()
        moving = not is_scope_root and org.parent is not None and parent_code != org.parent.code
        parent = _org_in_scope_by_code(parent_code) if moving else None
        if moving and parent is None:
            form.parent_code.errors.append(_("找不到该组织编码，或不在您的管理范围。"))
        else:
            try:
                services.rename_organization(org, name=form.name.data, kind=form.kind.data, code=code)
                if moving:
                    moved = services.move_organization(org, parent)
                    flash(_("已将 %(n)d 个组织移至 %(parent)s 下。", n=moved, parent=parent.name), "success")
            except services.AccountError as error:
                db.session.rollback()
                messages = {"code_taken": _("该编码已被使用。"), "move_into_itself": _("不能移到自身或其下级组织下。")}
                form.parent_code.errors.append(messages.get(str(error), _("无法保存。")))
            else:
                db.session.commit()
                flash(_("已保存。"), "success")
                return redirect(url_for("accounts.organizations"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/organization_form.html", form=form, org=org, is_scope_root=is_scope_root), status


# --- organizers: members ---------------------------------------------------------------------------------

@bp.route("/members/new", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def member_new():
    form = MemberForm()
    if form.validate_on_submit():
        org = _org_in_scope_by_code(form.org_code.data)
        if org is None:
            form.org_code.errors.append(_("找不到该组织编码，或不在您的管理范围。"))
        elif services.phone_taken(form.phone.data):
            form.phone.errors.append(_("该手机号已被使用。"))
        else:  # without a password the member gets in with an activation code (print a slip)
            member = services.create_user(name=form.name.data, phone=form.phone.data, password=form.password.data or None,
                                          role=Role.MEMBER, organization=org,
                                          category=MemberCategory(form.category.data),
                                          positions=[Position(p) for p in form.positions.data])
            db.session.commit()
            flash(_("已添加党员 %(name)s。", name=member.name), "success")
            return redirect(url_for("accounts.member_detail", member_id=member.id))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/member_form.html", form=form, member=None), status


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def member_edit(member_id: int):
    member = services.member_in_scope(current_user, member_id)
    form = MemberForm(obj=member)
    if request.method == "GET":
        form.category.data = member.category.value
        form.positions.data = [p.value for p in member.positions]
        form.org_code.data = member.organization.code if member.organization else ""
    form.org_code.render_kw = {"readonly": True}
    if form.validate_on_submit():
        try:
            services.update_member(member, name=form.name.data, phone=form.phone.data,
                                   category=MemberCategory(form.category.data),
                                   positions=[Position(p) for p in form.positions.data])
        except services.AccountError:
            db.session.rollback()
            form.phone.errors.append(_("该手机号已被使用。"))
        else:
            if form.password.data:
                services.reset_password(member, form.password.data)  # the form checked the policy
            db.session.commit()
            flash(_("已保存。"), "success")
            return redirect(url_for("accounts.member_detail", member_id=member.id))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/member_form.html", form=form, member=member), status


@bp.post("/members/<int:member_id>/active")
@role_required(Role.ORGANIZER)
def member_set_active(member_id: int):
    member = services.member_in_scope(current_user, member_id)
    if member.id == current_user.id:
        abort(400)
    services.set_member_active(member, request.form.get("active") == "1")
    db.session.commit()
    flash(_("已启用。") if member.is_active else _("已停用，该人员将无法登录。"), "info")
    return redirect(url_for("accounts.member_detail", member_id=member.id))


@bp.route("/members/<int:member_id>/transfer", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
def member_transfer(member_id: int):
    """组织关系转接 within the organizer's subtree; the hours stay with the member."""
    member = services.member_in_scope(current_user, member_id)
    form = TransferForm()
    if form.validate_on_submit():
        org = _org_in_scope_by_code(form.org_code.data)
        if org is None:
            form.org_code.errors.append(_("找不到该组织编码，或不在您的管理范围。"))
        elif org.id == member.organization_id:
            form.org_code.errors.append(_("该党员已在此组织。"))
        else:
            services.transfer_member(member, org, by=current_user, note=form.note.data or "")
            db.session.commit()
            flash(_("已将 %(name)s 的组织关系转入 %(org)s。", name=member.name, org=org.name), "success")
            return redirect(url_for("accounts.member_detail", member_id=member.id))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/member_transfer.html", form=form, member=member,
                           history=services.membership_history(member)), status


# --- organizers: bulk import -----------------------------------------------------------------------------

@bp.route("/members/import", methods=["GET", "POST"])
@role_required(Role.ORGANIZER)
@accepts_upload("MEMBER_IMPORT_MAX_BYTES")
def member_import():
    """Step 1: upload; the page previews every row and names every bad one. Nothing is written yet."""
    form = ImportForm()
    result = error = None
    token = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(importer.MAX_BYTES + 1)
        try:
            result = importer.preview(upload.filename or "", data, current_user)
        except importer.ImportError_ as problem:
            error = str(problem)
        else:  # staged in the database: the confirmation may reach another server
            token = importer.stage(upload.filename or "", data, current_user,
                                   current_app.config["MEMBER_IMPORT_TTL_SECONDS"])
            db.session.commit()
            session["member_import"] = {"token": token}
    status = 400 if request.method == "POST" and (error or (result and result.errors)) else 200
    return render_template("accounts/member_import.html", form=form, result=result, error=error, token=token), status


@bp.post("/members/import/confirm")
@role_required(Role.ORGANIZER)
def member_import_confirm():
    """Step 2: the same file is checked again and written all or nothing."""
    pending = session.get("member_import") or {}
    token = request.form.get("token", "")
    staged = importer.staged(token, current_user) if pending.get("token") == token else None
    if staged is None:
        abort(400)
    try:
        result = importer.preview(staged.filename, staged.data, current_user)
        counts = importer.apply(result, current_user)
    except importer.ImportError_ as problem:
        db.session.rollback()
        flash(str(problem), "danger")
        return redirect(url_for("accounts.member_import"))
    db.session.delete(staged)
    db.session.commit()
    session.pop("member_import", None)
    flash(_("导入完成：新增 %(c)d 人，更新 %(u)d 人，未变 %(n)d 人。", c=counts["create"], u=counts["update"],
            n=counts["unchanged"]), "success")
    if counts["create"]:
        flash(_("新增的党员还没有密码：请勾选他们（或点“打印全部未激活党员的激活单”）打印激活单发给本人。"), "info")
    return redirect(url_for("accounts.members"))


@bp.get("/members/import/template.csv")
@role_required(Role.ORGANIZER)
def member_import_template():
    response = current_app.response_class(importer.template_csv(services.scope_root(current_user)),
                                          mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="members-template.csv"'
    return response
