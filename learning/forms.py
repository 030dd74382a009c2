"""Forms of the hours engine: scheduling an offline class, checking in, manual entries, reversals."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, DateTimeLocalField, DecimalField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from learning.offline import CODE_DIGITS


class OfflineClassForm(FlaskForm):
    course_id = SelectField(_l("课程"), coerce=int, validators=[DataRequired()])
    title = StringField(_l("课堂名称"), validators=[DataRequired(), Length(max=200)])
    place = StringField(_l("地点"), validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("开始时间"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("结束时间"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    credit_hours = DecimalField(_l("学时（留空按课堂时长计）"), places=1, validators=[Optional(), NumberRange(min=0, max=50)])
    checkout_required = BooleanField(_l("需要签退（按签到到签退的时间计，不超过课堂时长）"))
    submit = SubmitField(_l("安排课堂"))


class CodeForm(FlaskForm):
    code = StringField(_l("签到码"), validators=[DataRequired(), Length(min=CODE_DIGITS, max=CODE_DIGITS)],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code",
                                  "pattern": f"[0-9]{{{CODE_DIGITS}}}"})
    submit = SubmitField(_l("签到"))


class ManualEntryForm(FlaskForm):
    hours = DecimalField(_l("学时"), places=1, validators=[DataRequired(), NumberRange(min=0.1, max=200)])
    occurred_on = DateField(_l("培训日期"), validators=[DataRequired()])
    reason = StringField(_l("原因（如：县委党校培训班）"), validators=[DataRequired(), Length(max=500)])
    certificate = FileField(_l("证书扫描件（PDF、PNG、JPEG，可选）"))
    submit = SubmitField(_l("录入学时"))


class ReversalForm(FlaskForm):
    reason = StringField(_l("冲销原因"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("冲销"))


class DecisionForm(FlaskForm):
    """Approve or reject a manual entry waiting for approval (the CSRF token only)."""
