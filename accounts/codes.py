"""One-time activation and reset codes (激活码 / 重置码).

An organizer prints a code on a slip (or sends it by SMS); the member enters it with their phone at
``/activate`` and chooses a password. Codes are 8 characters from an alphabet without look-alikes (no 0/O,
1/I/L, 2/Z, 5/S, 8/B), about 37 bits; only their SHA-256 (salted with the user id) is stored; a new code
replaces the member's older ones; it expires after ``ACTIVATION_CODE_DAYS``; using it is one conditional
UPDATE, so it works once even when two servers receive it at the same moment. Attempts are throttled like
passwords (``services.reserve_attempt("code", ...)``), under their own count: a stranger guessing a member's
password does not stop the member from using their code."""
from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from accounts import services
from accounts.models import UNUSABLE_PASSWORD, AccessCode, AccessCodePurpose, Organization, User
from core import clock
from core.extensions import db
from core.permissions import Role

ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # no 0 O 1 I L 2 Z 5 S 8 B
CODE_LENGTH = 8
MAX_SLIPS = 2000  # one print run


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """What the member typed, as stored: upper case, spaces and dashes dropped, look-alikes mapped."""
    code = "".join(ch for ch in (raw or "").upper() if not ch.isspace() and ch != "-")
    return code.translate(str.maketrans("0O1IL2Z5S8B", "QQTTTZZSSBB"))[:CODE_LENGTH * 2]


def _hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{code}".encode()).hexdigest()


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def issue_code(member: User, *, by: User | None = None) -> str:
    """A new code for ``member`` (replacing any older one): activation while they have no password, else a
    reset. Returns the code in clear — the only time it exists so. Flushes."""
    purpose = AccessCodePurpose.RESET if member.has_usable_password else AccessCodePurpose.ACTIVATION
    db.session.execute(delete(AccessCode).where(AccessCode.user_id == member.id, AccessCode.used_at.is_(None)))
    code = new_code()
    now = clock.utcnow()
    db.session.add(AccessCode(user_id=member.id, purpose=purpose, code_hash=_hash(member.id, code),
                              created_at=now, issued_by_id=by.id if by else None,
                              expires_at=now + timedelta(days=current_app.config["ACTIVATION_CODE_DAYS"])))
    db.session.flush()
    return code


class CodeProblem(str, enum.Enum):
    WRONG = "wrong"  # no such code for such a phone (which of the two is not said)
    EXPIRED = "expired"
    USED = "used"
    INACTIVE = "inactive"


def redeem_code(phone: str, raw_code: str, new_password: str) -> User:
    """Use a code: the member's password becomes ``new_password`` (the policy applies: ``PasswordRejected``),
    every other session of theirs ends, their login failures are forgotten. Raises ``CodeError`` with a
    ``CodeProblem``. The caller has reserved the attempt and commits."""
    user = services.find_user_by_login(services.normalise_phone(phone))
    code = normalise_code(raw_code)
    row = None
    if user is not None and len(code) == CODE_LENGTH:
        wanted = _hash(user.id, code)
        row = db.session.scalar(select(AccessCode).where(AccessCode.user_id == user.id,
                                                         AccessCode.code_hash == wanted)
                                .order_by(AccessCode.id.desc()).limit(1))
    if row is None:
        raise CodeError(CodeProblem.WRONG)
    if row.used_at is not None:
        raise CodeError(CodeProblem.USED)
    if row.expires_at <= clock.utcnow():
        raise CodeError(CodeProblem.EXPIRED)
    if not user.is_active:
        raise CodeError(CodeProblem.INACTIVE)
    services.set_password(user, new_password)  # checks the policy before the code is spent
    spent = db.session.execute(update(AccessCode).where(AccessCode.id == row.id, AccessCode.used_at.is_(None))
                               .values(used_at=clock.utcnow())).rowcount
    if spent != 1:  # another server used it a moment ago
        raise CodeError(CodeProblem.USED)
    services.clear_login_failures(user)
    db.session.flush()
    return user


class CodeError(ValueError):
    def __init__(self, problem: CodeProblem):
        super().__init__(problem.value)
        self.problem = problem


# --- slips ---------------------------------------------------------------------------------------------------

@dataclass
class Slip:
    member: User
    code: str
    purpose: AccessCodePurpose
    org_label: str


def members_for_slips(organizer: User, member_ids: list[int] | None = None,
                      org: Organization | None = None) -> list[User]:
    """The members of ``organizer``'s subtree to print slips for: the ``member_ids`` chosen (any of them, to
    re-issue), or every member of ``org``'s subtree still without a password. A chosen member outside the
    subtree raises Forbidden."""
    from werkzeug.exceptions import Forbidden

    stmt = services.scoped_members(organizer).where(User.role.in_([Role.MEMBER, Role.TRAINER]))
    if member_ids is not None:
        wanted = set(member_ids[:MAX_SLIPS])
        members = list(db.session.scalars(stmt.where(User.id.in_(wanted))))
        if len(members) != len(wanted):
            raise Forbidden()
        return members
    if org is not None:
        stmt = stmt.where(User.organization_id.in_(select(Organization.id).where(services.subtree_condition(org))))
    stmt = stmt.where(User.password_hash == UNUSABLE_PASSWORD, User.is_active_flag.is_(True))
    return list(db.session.scalars(stmt.limit(MAX_SLIPS)))


def issue_slips(organizer: User, members: list[User]) -> list[Slip]:
    """A fresh code for each member (older ones stop working), ready to print. Flushes."""
    labels = services.organization_labels([m.organization for m in members if m.organization])
    slips = []
    for member in members:
        purpose = AccessCodePurpose.RESET if member.has_usable_password else AccessCodePurpose.ACTIVATION
        slips.append(Slip(member, issue_code(member, by=organizer), purpose,
                          labels.get(member.organization_id, "")))
    return slips
