"""Forms for trainers: banks, questions (in the import template's own terms), quizzes with draw rules."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateTimeLocalField, FieldList, Form, FormField, IntegerField, SelectField,
                     StringField, SubmitField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

KIND_CHOICES = [SelectChoice("单选", _l("单选题")), SelectChoice("多选", _l("多选题")), SelectChoice("判断", _l("判断题")),
                SelectChoice("填空", _l("填空题"))]
DIFFICULTY_CHOICES = [SelectChoice("易", _l("易")), SelectChoice("中", _l("中")), SelectChoice("难", _l("难"))]
REVIEW_CHOICES = [SelectChoice("immediately", _l("提交后立即可看答案与解析")),
                  SelectChoice("after_last", _l("用完全部答题次数后")),
                  SelectChoice("after_close", _l("测验关闭后"))]


class BankForm(FlaskForm):
    title = StringField(_l("题库名称"), validators=[DataRequired(), Length(max=200)])
    course_id = SelectField(_l("所属课程"), coerce=int, default=0)
    category = StringField(_l("共享分类（不属于某门课程时填写）"), validators=[Length(max=50)])
    description = TextAreaField(_l("说明"))
    submit = SubmitField(_l("保存"))


class QuestionForm(FlaskForm):
    kind = SelectField(_l("题型"), choices=KIND_CHOICES)
    stem = TextAreaField(_l("题干"), validators=[DataRequired()])
    options = TextAreaField(_l("选项（选择题每行一个，依次为 A、B、C……）"))
    answer = StringField(_l("答案（单选填字母如 B；多选如 ACD；判断填 正确 或 错误；填空的多个答案用 | 分隔）"),
                         validators=[DataRequired()])
    explanation = TextAreaField(_l("解析"))
    tags = StringField(_l("标签（逗号分隔）"), validators=[Length(max=200)])
    difficulty = SelectField(_l("难度"), choices=DIFFICULTY_CHOICES, default="中")
    submit = SubmitField(_l("保存题目"))


class ImportForm(FlaskForm):
    file = FileField(_l("题库文件（.xlsx 或 .csv，使用导入模板）"), validators=[FileRequired()])
    submit = SubmitField(_l("预览"))


class DrawRuleForm(Form):
    kind = SelectField(_l("题型"), choices=[SelectChoice("", _l("任意"))] + KIND_CHOICES, default="")
    tag = StringField(_l("标签"), validators=[Length(max=30)])
    difficulty = SelectField(_l("难度"), choices=[SelectChoice("", _l("任意"))] + DIFFICULTY_CHOICES, default="")
    count = IntegerField(_l("题数"), validators=[Optional(), NumberRange(min=0, max=200)], default=0)
    points = IntegerField(_l("每题分值"), validators=[Optional(), NumberRange(min=1, max=100)], default=1)


class QuizForm(FlaskForm):
    title = StringField(_l("测验名称"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("说明"))
    bank_id = SelectField(_l("题库"), coerce=int)
    course_id = SelectField(_l("所属课程"), coerce=int, default=0)
    published = BooleanField(_l("发布（学员可见）"))
    uses_draw = BooleanField(_l("按规则随机抽题（不勾选则使用下方选定的固定题目）"))
    shuffle_questions = BooleanField(_l("打乱题目顺序"), default=True)
    shuffle_options = BooleanField(_l("打乱选项顺序"), default=True)
    time_limit_minutes = IntegerField(_l("限时（分钟，留空不限时）"), validators=[Optional(), NumberRange(min=1, max=600)])
    max_attempts = IntegerField(_l("答题次数（留空不限）"), validators=[Optional(), NumberRange(min=1, max=100)])
    pass_percent = IntegerField(_l("及格分数（百分制）"), validators=[DataRequired(), NumberRange(min=0, max=100)],
                                default=60)
    review_policy = SelectField(_l("何时显示答案与解析"), choices=REVIEW_CHOICES, default="immediately")
    is_exam = BooleanField(_l("考试模式（只能作答一次，须设开放与关闭时间，关闭后才能看答案）"))
    opens_at = DateTimeLocalField(_l("开放时间"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    closes_at = DateTimeLocalField(_l("关闭时间"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    partial_credit = BooleanField(_l("多选题少选得部分分（错选不得分）"))
    credit_minutes = IntegerField(_l("及格后计入学习时长（分钟）"), validators=[Optional(), NumberRange(min=0, max=6000)],
                                  default=0)
    required_for_completion = BooleanField(_l("通过本测验才算完成课程"))
    rules = FieldList(FormField(DrawRuleForm), min_entries=4, max_entries=8)
    submit = SubmitField(_l("保存测验"))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.is_exam.data and (not self.opens_at.data or not self.closes_at.data):
            self.closes_at.errors.append(_l("考试模式必须设置开放时间和关闭时间"))
            return False
        if self.opens_at.data and self.closes_at.data and self.closes_at.data <= self.opens_at.data:
            self.closes_at.errors.append(_l("关闭时间必须晚于开放时间"))
            return False
        return True
