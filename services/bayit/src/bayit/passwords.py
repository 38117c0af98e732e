"""The password policy for new accounts: long enough, not blank, not trivially repetitive, not a common one."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

MIN_LENGTH = 8
MIN_DISTINCT = 4


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (``bayit/data/common_passwords.txt``), lower-case."""
    text = files("bayit").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problem(password: str) -> str | None:
    """Why a new password is refused (a message safe to show: it never repeats the password), or None."""
    if not password.strip():
        return "must not be only spaces"
    if len(set(password)) < MIN_DISTINCT:
        return f"must use at least {MIN_DISTINCT} different characters"
    if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        return "is one of the most common passwords; choose another"
    return None
