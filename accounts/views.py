"""HTML pages: login, logout, registration, profile, and administration of users and members."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from accounts import services
from accounts.forms import (CATEGORY_LABELS, POSITION_LABELS, ROLE_LABELS, ChangePasswordForm, LoginForm,
                            RegisterForm, ResetPasswordForm, UserCreateForm)
from accounts.models import MemberCategory, Position, User
from core.extensions import db
from core.nav import NavLink
from core.permissions import Role, login_required, public, role_required
from core.views import safe_next

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
        user, retry_after = services.authenticate(form.identifier.data, form.password.data, client_address())
        if user is not None:
            login_user(user, remember=form.remember.data)
            services.clear_login_failures(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next"), url_for("core.index")))
        db.session.commit()  # the failure is recorded for throttling
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
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.password.data)
        except services.AccountError:
            form.current.errors.append(_("当前密码不正确。"))
        else:
            db.session.commit()
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
    return render_template("accounts/admin_users.html", page=page, q=q)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        role = Role(form.role.data)
        org = services.organization_by_code(form.org_code.data.strip()) if form.org_code.data else None
        user = services.create_user(
            name=form.name.data, phone=form.phone.data, password=form.password.data, role=role,
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
    return render_template("accounts/members.html", page=page, q=q, root=services.scope_root(current_user))


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
