"""Bulk import of members from XLSX or CSV (批量导入党员).

The template (first row: headers, in any order; extra columns are ignored)::

    姓名 | 手机号 | 组织编码 | 人员类别 | 职务
    张三 | 13800001234 | R-1-1 | 正式党员 | 书记、委员

* 人员类别: 正式党员, 预备党员, 入党积极分子, 群众 (or full, probationary, activist, public); empty: 正式党员.
* 职务: empty, or 书记 / 委员 separated by 、 , ，; or spaces.
* A row whose phone belongs to a member of the importer's subtree updates that member (name, organization —
  recorded as a transfer —, category, positions); any other row creates a member. Re-importing the same file
  changes nothing.

``preview`` reads and checks everything and names every bad row by its spreadsheet row number and reason;
``apply`` writes all rows or none (it refuses a file with any bad row). CSV may be UTF-8 (with or without a
BOM) or GBK/GB18030, as Chinese Excel saves it. Cells longer than ``MAX_CELL`` characters and formula cells
(starting with ``=``) make their row bad rather than being cut or evaluated.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from accounts import services
from accounts.models import MemberCategory, Organization, Position, User
from core import clock
from core.extensions import db
from core.permissions import Role
from core.storage import zip_inflated_size
from core.text import is_clean_name

HEADERS = {"name": "姓名", "phone": "手机号", "org_code": "组织编码", "category": "人员类别", "positions": "职务"}
TEMPLATE_ROWS = [["张三", "13800001234", "R-1-1", "正式党员", "书记"], ["李四", "13800005678", "R-1-1", "预备党员", ""]]
CATEGORY_WORDS = {"正式党员": MemberCategory.FULL, "预备党员": MemberCategory.PROBATIONARY,
                  "入党积极分子": MemberCategory.ACTIVIST, "积极分子": MemberCategory.ACTIVIST,
                  "群众": MemberCategory.PUBLIC, **{c.value: c for c in MemberCategory}}
POSITION_WORDS = {"书记": Position.SECRETARY, "委员": Position.COMMITTEE, **{p.value: p for p in Position}}
MAX_ROWS = 5_000
MAX_CELL = 200
MAX_BYTES = 5 * 1024 * 1024
MAX_INFLATED_BYTES = 20 * 2**20  # an XLSX's declared inflated size


class StagedMemberImport(db.Model):
    """A previewed import file waiting for its confirmation, in the database: any server may confirm it."""

    __tablename__ = "staged_member_imports"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: clock.utcnow(), index=True)


def stage(filename: str, data: bytes, by: User, ttl_seconds: int) -> str:
    """Keep a previewed file for its confirmation (flushes); drops staged files older than ``ttl_seconds``.
    Returns the token the confirmation names."""
    db.session.execute(delete(StagedMemberImport).where(
        StagedMemberImport.created_at < clock.utcnow() - timedelta(seconds=ttl_seconds)))
    token = secrets.token_hex(16)
    db.session.add(StagedMemberImport(token=token, user_id=by.id, filename=filename[:255], data=data))
    db.session.flush()
    return token


def staged(token: str, by: User) -> StagedMemberImport | None:
    """The file ``by`` staged under ``token`` (None: unknown, someone else's, or already imported)."""
    return db.session.scalar(select(StagedMemberImport).where(StagedMemberImport.token == token,
                                                             StagedMemberImport.user_id == by.id))


class ImportError_(ValueError):  # noqa: N801 - not the builtin
    """The whole file cannot be read; the message is shown to the organizer."""


@dataclass
class RowPlan:
    number: int  # the spreadsheet row number (the header is row 1)
    name: str
    phone: str
    org: Organization
    category: MemberCategory
    positions: set[Position]
    member: User | None  # the member it updates, or None: a new member
    action: str = "create"  # "create", "update" or "unchanged"


@dataclass
class Preview:
    plans: list[RowPlan] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.plans)

    def count(self, action: str) -> int:
        return sum(1 for p in self.plans if p.action == action)


# --- reading -----------------------------------------------------------------------------------------------

def decode_csv(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # GBK, as Chinese Excel saves "CSV", is a subset
    except UnicodeDecodeError as error:
        raise ImportError_(_("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX 文件。")) from error


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """The rows of the first sheet (XLSX) or of the CSV, every cell as text ("" for empty)."""
    if len(data) > MAX_BYTES:
        raise ImportError_(_("文件过大（不超过 5 MB）。"))
    if data.startswith(b"PK\x03\x04"):
        import openpyxl

        inflated = zip_inflated_size(data)
        if inflated is not None and inflated > MAX_INFLATED_BYTES:
            raise ImportError_(_("XLSX 文件解压后过大（不超过 %(mb)d MB）。", mb=MAX_INFLATED_BYTES // 2**20))

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as error:  # a damaged or disguised file
            raise ImportError_(_("无法读取 XLSX 文件。")) from error
        rows = []
        for row in book.worksheets[0].iter_rows(values_only=True):
            rows.append([cell_text(v) for v in row])
            if len(rows) > MAX_ROWS + 1:
                break
        book.close()
        return rows
    if filename.lower().endswith((".xlsx", ".xls")):
        raise ImportError_(_("无法读取 XLSX 文件。"))
    text = decode_csv(data)
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""))][: MAX_ROWS + 2]
    except csv.Error as error:
        raise ImportError_(_("CSV 文件格式有误。")) from error


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed as a number
    return str(value)


# --- checking ----------------------------------------------------------------------------------------------

def preview(filename: str, data: bytes, by: User) -> Preview:
    rows = read_table(filename, data)
    result = Preview()
    if not rows:
        raise ImportError_(_("文件是空的。"))
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    index = {}
    for key, title in HEADERS.items():
        if title not in header:
            raise ImportError_(_("缺少表头：%(title)s。表头应为：%(all)s", title=title, all="、".join(HEADERS.values())))
        index[key] = header.index(title)
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise ImportError_(_("一次最多导入 %(n)d 行。", n=MAX_ROWS))
    scope = services.scope_root(by)
    codes = {row[index["org_code"]].strip() for row in body if len(row) > index["org_code"]}
    orgs = {o.code: o for o in db.session.scalars(select(Organization).where(Organization.code.in_(codes)))}
    phones = {services.normalise_phone(row[index["phone"]]) for row in body if len(row) > index["phone"]}
    existing = {u.phone: u for u in db.session.scalars(select(User).where(User.phone.in_(phones)))}
    seen: dict[str, int] = {}
    for number, row in enumerate(body, start=2):
        cells = {key: (row[i] if i < len(row) else "") for key, i in index.items()}
        if not any(v.strip() for v in cells.values()):
            continue  # a blank line
        reason = check_row(cells, orgs, scope)
        if reason:
            result.errors.append((number, reason))
            continue
        phone = services.normalise_phone(cells["phone"])
        if phone in seen:
            result.errors.append((number, _("手机号与第 %(row)d 行重复", row=seen[phone])))
            continue
        seen[phone] = number
        member = existing.get(phone)
        if member is not None and not updatable(member, scope):
            result.errors.append((number, _("手机号已被系统中其他人员使用")))
            continue
        plan = RowPlan(number, cells["name"].strip(), phone, orgs[cells["org_code"].strip()],
                       category_of(cells["category"]), positions_of(cells["positions"]), member)
        if member is not None:
            same = (member.name == plan.name and member.organization_id == plan.org.id
                    and member.category == plan.category and member.positions == plan.positions)
            plan.action = "unchanged" if same else "update"
        result.plans.append(plan)
    return result


def check_row(cells: dict[str, str], orgs: dict[str, Organization], scope: Organization | None) -> str | None:
    for key, value in cells.items():
        if value.startswith("="):
            return _("%(col)s 是公式，请填写内容本身", col=HEADERS[key])
        if len(value) > MAX_CELL:
            return _("%(col)s 内容过长（不超过 %(n)d 字）", col=HEADERS[key], n=MAX_CELL)
    name = cells["name"].strip()
    if not name or len(name) > 64:
        return _("姓名为空或超过 64 字")
    if not is_clean_name(name):
        return _("姓名含有控制字符或仅由不可见字符组成")
    if not services.PHONE_RE.match(services.normalise_phone(cells["phone"])):
        return _("手机号格式不正确：%(phone)s", phone=cells["phone"].strip()[:20])
    org = orgs.get(cells["org_code"].strip())
    if org is None or (scope is not None and not org.is_within(scope)):
        return _("组织编码不存在或不在您的管理范围：%(code)s", code=cells["org_code"].strip()[:64])
    if cells["category"].strip() and cells["category"].strip() not in CATEGORY_WORDS:
        return _("人员类别无法识别：%(value)s", value=cells["category"].strip()[:20])
    for word in split_positions(cells["positions"]):
        if word not in POSITION_WORDS:
            return _("职务无法识别：%(value)s", value=word[:20])
    return None


def updatable(member: User, scope: Organization | None) -> bool:
    """A phone already in the database may only be the same member of the importer's subtree."""
    if member.role != Role.MEMBER or member.organization is None:
        return False
    return scope is None or member.organization.is_within(scope)


def split_positions(value: str) -> list[str]:
    return [w for w in re.split(r"[、,，;；\s]+", value.strip()) if w]


def category_of(value: str) -> MemberCategory:
    return CATEGORY_WORDS.get(value.strip(), MemberCategory.FULL)


def positions_of(value: str) -> set[Position]:
    return {POSITION_WORDS[w] for w in split_positions(value)}


# --- writing -----------------------------------------------------------------------------------------------

def apply(result: Preview, by: User) -> dict[str, int]:
    """Write every planned row (the caller commits once; any error leaves nothing written)."""
    if result.errors:
        raise ImportError_(_("文件中有错误，未导入任何数据。"))
    for plan in result.plans:
        if plan.action == "create":  # no password yet: the member activates with the code on a printed slip
            services.create_user(name=plan.name, phone=plan.phone, role=Role.MEMBER,
                                 organization=plan.org, category=plan.category, positions=plan.positions)
        elif plan.action == "update":
            member = plan.member
            if member.organization_id != plan.org.id:
                services.transfer_member(member, plan.org, by=by, note=_("批量导入"))
            member.name = plan.name
            member.category = plan.category
            member.positions = plan.positions
    db.session.flush()
    return {action: result.count(action) for action in ("create", "update", "unchanged")}


def template_rows(root: Organization | None) -> list[list[str]]:
    """The template's example rows, with organization codes that exist in the organizer's subtree (``root``;
    None: everything), so the template imports as it is: the deepest organizations first (branches, 支部)."""
    stmt = select(Organization.code).order_by(Organization.path.desc()).limit(2)
    if root is not None:
        stmt = stmt.where(services.subtree_condition(root))
    codes = list(db.session.scalars(stmt)) or [row[2] for row in TEMPLATE_ROWS]
    return [[row[0], row[1], codes[min(i, len(codes) - 1)], *row[3:]] for i, row in enumerate(TEMPLATE_ROWS)]


def template_csv(root: Organization | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(HEADERS.values()))
    writer.writerows(template_rows(root))
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
