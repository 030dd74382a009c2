"""Forms of the training-class pages: the class itself, its plan (courses, offline sessions, exams), its
graduation rules, the roster, graduation and revocation. Choices that depend on the user (host organizations
in the organizer's subtree, courses, trainers, quizzes) are filled in by the views."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, DecimalField, IntegerField, SelectField,
                     StringField, SubmitField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


class ClassForm(FlaskForm):
    name = StringField(_l("班级名称"), validators=[DataRequired(), Length(max=200)],
                       description=_l("例如：2026年第一期入党积极分子培训班"))
    type_id = SelectField(_l("培训班类型"), coerce=int, validators=[DataRequired()])
    host_org_id = SelectField(_l("主办组织"), coerce=int, validators=[DataRequired()])
    starts_on = DateField(_l("开班日期"), validators=[DataRequired()])
    ends_on = DateField(_l("结业日期"), validators=[DataRequired()])
    capacity = IntegerField(_l("名额（留空不限）"), validators=[Optional(), NumberRange(min=1, max=100000)])
    enrolment = SelectField(_l("报名方式"), validators=[DataRequired()])
    registration_opens_at = DateTimeLocalField(_l("报名开始"), format=LOCAL_MINUTE, validators=[Optional()])
    registration_closes_at = DateTimeLocalField(_l("报名截止"), format=LOCAL_MINUTE, validators=[Optional()])
    certificate_prefix = StringField(_l("证书编号前缀"), validators=[Optional(), Length(max=60)],
                                     description=_l("例如：睢阳党校〔2026〕第003期，证书编号为“前缀-017号”"))
    submit = SubmitField(_l("保存"))

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("结业日期不能早于开班日期。"))

    def validate_registration_closes_at(self, field):
        opens = self.registration_opens_at.data
        if opens and field.data and field.data <= opens:
            raise ValidationError(_l("报名截止时间必须晚于报名开始时间。"))


class CourseItemForm(FlaskForm):
    course_id = SelectField(_l("线上课程"), coerce=int, validators=[DataRequired()])
    required = BooleanField(_l("结业必修"), default=True)
    submit = SubmitField(_l("加入计划"))


class SessionForm(FlaskForm):
    title = StringField(_l("课题"), validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("开始时间"), format=LOCAL_MINUTE, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("结束时间"), format=LOCAL_MINUTE, validators=[DataRequired()])
    place = StringField(_l("地点"), validators=[DataRequired(), Length(max=200)])
    trainer_id = SelectField(_l("授课教员"), coerce=int, validators=[Optional()])
    trainer_name = StringField(_l("外请授课人（不在系统中的教员）"), validators=[Optional(), Length(max=100)])
    credit_hours = DecimalField(_l("学时（留空按课堂时长计）"), places=1,
                                validators=[Optional(), NumberRange(min=0, max=50)])
    submit = SubmitField(_l("安排课次"))

    def validate_ends_at(self, field):
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("结束时间必须晚于开始时间。"))


class MoveSessionForm(FlaskForm):
    starts_at = DateTimeLocalField(_l("新的开始时间"), format=LOCAL_MINUTE, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("新的结束时间"), format=LOCAL_MINUTE, validators=[DataRequired()])
    place = StringField(_l("地点"), validators=[DataRequired(), Length(max=200)])
    reason = StringField(_l("调整原因（将通知学员）"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("调整时间"))

    def validate_ends_at(self, field):
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("结束时间必须晚于开始时间。"))


class ReasonForm(FlaskForm):
    """Cancel a session, reject an application, revoke a certificate: a reason is recorded."""
    reason = StringField(_l("原因"), validators=[DataRequired(), Length(max=300)])
    submit = SubmitField(_l("确定"))


class ExamForm(FlaskForm):
    quiz_id = SelectField(_l("考试（测验）"), coerce=int, validators=[DataRequired()])
    required = BooleanField(_l("结业必须通过"), default=True)
    submit = SubmitField(_l("加入计划"))


class RulesForm(FlaskForm):
    required_items = BooleanField(_l("计划中标为必修的项目须全部完成"))
    min_attendance_percent = IntegerField(_l("线下出勤率不低于（%，留空不要求）"),
                                          validators=[Optional(), NumberRange(min=0, max=100)])
    exam_pass_required = BooleanField(_l("考试必须通过"))
    min_hours = DecimalField(_l("培训期内学时不少于（留空不要求）"), places=1,
                             validators=[Optional(), NumberRange(min=0, max=1000)])
    submit = SubmitField(_l("保存结业条件"))


class RosterSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    q = StringField(_l("姓名或手机号"), validators=[Optional(), Length(max=50)])


class GraduateForm(FlaskForm):
    # Not named "confirm": a form control's name becomes a property of the form and shadows window.confirm
    # in handlers scoped to the form.
    confirmed = BooleanField(_l("我已核对进度，确认结业并为符合条件的学员颁发证书"), validators=[DataRequired()])
    early_reason = StringField(_l("提前结业原因（培训班结束前结业时必填）"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("结业"))
