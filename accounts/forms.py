"""Forms for login, registration, passwords and user administration."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from accounts import services
from accounts.models import MemberCategory, Position
from accounts.passwords import password_problem
from core.permissions import Role
from core.text import is_clean_name


class CleanName:
    """A name with no control characters (NUL, line breaks ...) and not made of invisible characters only."""

    def __call__(self, form, field):
        if field.data and not is_clean_name(field.data):
            raise ValidationError(_l("名称不能包含控制字符或仅由不可见字符组成。"))



class PasswordPolicy:
    """``accounts.passwords.password_problem`` as a form check. The phone compared is the form's ``phone`` field,
    else ``form.policy_phone`` (set by the view: the user whose password is set)."""

    def __call__(self, form, field):
        if not field.data:
            return
        phone_field = getattr(form, "phone", None)
        phone = (phone_field.data if phone_field is not None else None) or getattr(form, "policy_phone", None)
        problem = password_problem(field.data, phone)
        if problem:
            raise ValidationError(problem)


PASSWORD_RULE = [DataRequired(), PasswordPolicy()]

CATEGORY_LABELS = {
    MemberCategory.FULL: _l("正式党员"),
    MemberCategory.PROBATIONARY: _l("预备党员"),
    MemberCategory.ACTIVIST: _l("入党积极分子"),
    MemberCategory.PUBLIC: _l("群众"),
}
POSITION_LABELS = {Position.SECRETARY: _l("书记"), Position.COMMITTEE: _l("委员")}
ROLE_LABELS = {
    Role.ADMIN: _l("管理员"),
    Role.ORGANIZER: _l("组织员"),
    Role.TRAINER: _l("教员"),
    Role.MEMBER: _l("学员"),
    Role.PUBLIC: _l("公众学员"),
}


class PhoneField(StringField):
    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.data = services.normalise_phone(self.data or "")


def phone_format(form, field):
    if not services.PHONE_RE.match(field.data or ""):
        raise ValidationError(_l("请输入 11 位手机号码。"))


class LoginForm(FlaskForm):
    identifier = StringField(_l("手机号或用户名"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=128)])
    remember = BooleanField(_l("记住我"))


class RegisterForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=64), CleanName()])
    phone = PhoneField(_l("手机号"), validators=[DataRequired(), phone_format])
    password = PasswordField(_l("密码"), validators=PASSWORD_RULE)
    confirm = PasswordField(_l("确认密码"), validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))])

    def validate_phone(self, field):
        if services.phone_taken(field.data):
            raise ValidationError(_l("该手机号已注册，请直接登录。"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired()])
    password = PasswordField(_l("新密码"), validators=PASSWORD_RULE)
    confirm = PasswordField(_l("确认新密码"), validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=PASSWORD_RULE)


class UserCreateForm(FlaskForm):
    """An admin creates an organizer, trainer, member or another admin."""

    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=64), CleanName()])
    phone = PhoneField(_l("手机号"), validators=[DataRequired(), phone_format])
    username = StringField(_l("用户名（可选）"), validators=[Optional(), Length(max=64),
                                                     Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("用户名只能包含字母、数字、下划线、点和连字符。"))])
    role = SelectField(_l("角色"), choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role if r != Role.PUBLIC])
    org_code = StringField(_l("所属组织编码"), validators=[Optional(), Length(max=64)],
                           description=_l("组织员管理该组织及其下级；学员属于该组织。"))
    category = SelectField(_l("人员类别"), choices=[SelectChoice(c.value, CATEGORY_LABELS[c]) for c in MemberCategory])
    positions = SelectMultipleField(_l("职务"), choices=[SelectChoice(p.value, POSITION_LABELS[p]) for p in Position])
    password = PasswordField(_l("初始密码"), validators=[Optional(), PasswordPolicy()],
                             description=_l("可留空：该用户凭激活码自行设置密码。"))

    def validate_phone(self, field):
        if services.phone_taken(field.data):
            raise ValidationError(_l("该手机号已被使用。"))

    def validate_username(self, field):
        if field.data and services.username_taken(field.data):
            raise ValidationError(_l("该用户名已被使用。"))

    def validate_org_code(self, field):
        if self.role.data in (Role.ORGANIZER.value, Role.MEMBER.value) and not field.data:
            raise ValidationError(_l("组织员和学员必须指定组织。"))
        if field.data and services.organization_by_code(field.data.strip()) is None:
            raise ValidationError(_l("找不到该组织编码。"))


# --- organizers: the grid and its members ------------------------------------------------------------

class OrganizationForm(FlaskForm):
    """Create an organization under ``parent_code``, or rename/move one (``parent_code`` is its new parent)."""

    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200), CleanName()])
    code = StringField(_l("编码"), validators=[DataRequired(), Length(max=64),
                                              Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("编码只能包含字母、数字、下划线、点和连字符。"))])
    kind = StringField(_l("层级名称"), validators=[DataRequired(), Length(max=32)],
                       description=_l("如：街道、社区、小区、楼院、党支部、党小组"))
    parent_code = StringField(_l("上级组织编码"), validators=[DataRequired(), Length(max=64)])


class MemberForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=64), CleanName()])
    phone = PhoneField(_l("手机号"), validators=[DataRequired(), phone_format])
    org_code = StringField(_l("所属组织编码"), validators=[DataRequired(), Length(max=64)])
    category = SelectField(_l("人员类别"), choices=[SelectChoice(c.value, CATEGORY_LABELS[c]) for c in MemberCategory])
    positions = SelectMultipleField(_l("职务"), choices=[SelectChoice(p.value, POSITION_LABELS[p]) for p in Position])
    password = PasswordField(_l("初始密码"), validators=[Optional(), PasswordPolicy()],
                             description=_l("可留空：新党员凭激活码自行设置密码；编辑时留空则不修改。"))


class TransferForm(FlaskForm):
    org_code = StringField(_l("转入组织编码"), validators=[DataRequired(), Length(max=64)])
    note = StringField(_l("说明"), validators=[Optional(), Length(max=200)])


class ImportForm(FlaskForm):
    file = FileField(_l("XLSX 或 CSV 文件"), validators=[FileRequired()])


class ActivateForm(FlaskForm):
    """A member with an activation or reset code chooses their password."""

    phone = PhoneField(_l("手机号"), validators=[DataRequired(), phone_format])
    code = StringField(_l("激活码 / 重置码"), validators=[DataRequired(), Length(max=20)])
    password = PasswordField(_l("新密码"), validators=PASSWORD_RULE)
    confirm = PasswordField(_l("确认新密码"), validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致。"))])
