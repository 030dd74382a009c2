"""Forms for authoring courses and lectures and for assigning required courses."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, DateTimeLocalField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from courses.models import Audience, CreditMode, LectureKind

AUDIENCE_LABELS = {Audience.PUBLIC: _l("公开（党员和群众）"), Audience.MEMBERS: _l("仅党员（含预备党员、积极分子）")}
CREDIT_MODE_LABELS = {CreditMode.TIME: _l("按学习时长计学时"), CreditMode.FIXED: _l("完成课程计固定学时")}
KIND_LABELS = {LectureKind.TEXT: _l("图文"), LectureKind.VIDEO: _l("视频"), LectureKind.DOCUMENT: _l("文档"),
               LectureKind.OFFLINE: _l("线下课堂")}
STATUS_LABELS = {"draft": _l("草稿"), "published": _l("已发布"), "archived": _l("已归档")}


class CourseForm(FlaskForm):
    title = StringField(_l("课程名称"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("课程简介（支持 Markdown）"), validators=[Optional(), Length(max=5000)],
                            render_kw={"rows": 4})
    category = StringField(_l("分类"), validators=[Optional(), Length(max=50)],
                           description=_l("例如：理论学习、党史教育、社区治理"))
    tags = StringField(_l("标签"), validators=[Optional(), Length(max=300)], description=_l("用逗号分隔"))
    audience = SelectField(_l("面向对象"),
                           choices=[SelectChoice(a.value, label) for a, label in AUDIENCE_LABELS.items()],
                           default=Audience.MEMBERS.value)
    org_code = StringField(_l("限定组织（组织代码，留空表示不限）"), validators=[Optional(), Length(max=64)])
    credit_mode = SelectField(_l("学时计算方式"),
                              choices=[SelectChoice(m.value, label) for m, label in CREDIT_MODE_LABELS.items()],
                              default=CreditMode.TIME.value)
    credit_hours = DecimalField(_l("学时"), places=2, validators=[Optional(), NumberRange(min=0, max=9999)])
    cover = FileField(_l("封面图片（PNG、JPEG 或 WebP）"))


class LectureForm(FlaskForm):
    title = StringField(_l("课时标题"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("类型"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
                       default=LectureKind.TEXT.value)
    body_markdown = TextAreaField(_l("正文或说明（支持 Markdown）"), validators=[Optional(), Length(max=200_000)],
                                  render_kw={"rows": 12})
    reading_minutes = IntegerField(_l("阅读时长（分钟，留空自动估算）"),
                                   validators=[Optional(), NumberRange(min=1, max=600)])
    video = FileField(_l("视频文件（MP4 或 WebM）"))
    document = FileField(_l("PDF 文档"))
    starts_at = DateTimeLocalField(_l("开始时间"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ends_at = DateTimeLocalField(_l("结束时间"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    place = StringField(_l("地点"), validators=[Optional(), Length(max=200)])


class AssignForm(FlaskForm):
    course_id = IntegerField(_l("课程编号"), validators=[DataRequired()])
    org_code = StringField(_l("组织代码"), validators=[DataRequired(), Length(max=64)])
    due_date = DateField(_l("截止日期"), validators=[DataRequired()])
