"""The password policy: one function, used by every place a password is set (registration, a changed or reset
password, a new user or member, activation). Each message says what to change."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (read once per process; it never changes while running)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, phone: str | None = None) -> str | None:
    """Why ``password`` may not be used by the member with ``phone`` (a sentence for them), or None: it may."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("密码至少需要 %(n)d 个字符，请再加长一些。", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("密码不能超过 %(n)d 个字符，请缩短一些。", n=MAX_LENGTH)
    if password.isdigit():
        return _("密码不能全是数字，请加入字母或符号。")
    digits = "".join(ch for ch in password if ch.isdigit())
    if phone and (phone in password or digits == phone):
        return _("密码不能包含您的手机号，请换一个别人猜不到的密码。")
    if password.lower() in common_passwords():
        return _("这是最常见的密码之一，很容易被猜中，请换一个。")
    return None
