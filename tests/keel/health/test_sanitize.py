from __future__ import annotations

import pytest

from keel.health.sanitize import MAX_MESSAGE, Sanitizer, secret_variants, url_secrets

PASSWORD = "Pl4nted!Pass/word"


def test_planted_secrets_are_removed_raw_and_url_quoted() -> None:
    scrub = Sanitizer([PASSWORD])
    assert PASSWORD not in scrub(f"auth failed for {PASSWORD}")
    assert "Pl4nted%21Pass%2Fword" not in scrub("dsn had Pl4nted%21Pass%2Fword in it")
    assert "<redacted>" in scrub(f"x {PASSWORD} y")


def test_short_secrets_are_not_matched_as_substrings() -> None:
    assert Sanitizer(["ab"])("about a cab") == "about a cab"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("could not connect to postgresql://admin:hunter2@db.internal.bayit:5432/app", "hunter2"),
        ("could not connect to postgresql://admin:hunter2@db.internal.bayit:5432/app", "db.internal.bayit"),
        ("login admin:hunter2@10.0.0.7 failed", "hunter2"),
        ("connect to 10.12.0.7:5432 failed", "10.12.0.7"),
        ("connect to [fd00::17]:5432 failed", "fd00::17"),
        ("host mongo-0.mongo.svc.cluster.local unreachable", "mongo-0.mongo.svc.cluster.local"),
        ("password=hunter2 rejected", "hunter2"),
        ("api_key: 'abc123xyz' invalid", "abc123xyz"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("Incorrect API key provided: sk-proj-abcdefgh1234", "sk-proj-abcdefgh1234"),
        ("token a1b2c3d4e5f6a7b8c9d0e1f2 expired", "a1b2c3d4e5f6a7b8c9d0e1f2"),
        ("see https://sqlalche.me/e/20/e3q8 for details", "sqlalche.me"),
    ],
)
def test_patterns_remove_what_looks_like_a_secret_or_host(text: str, leaked: str) -> None:
    assert leaked not in Sanitizer()(text)


def test_ordinary_text_survives() -> None:
    text = "[Errno 111] Connection refused; timed out after 2 s (HTTP 503)"
    assert Sanitizer()(text) == text


def test_messages_are_single_line_and_bounded() -> None:
    out = Sanitizer()("line one\nline two " + "word " * 200)
    assert "\n" not in out
    assert len(out) == MAX_MESSAGE
    assert out.endswith("...")


def test_exception_messages_name_the_type_and_scrub_the_text() -> None:
    scrub = Sanitizer([PASSWORD])
    assert scrub.exception(ConnectionRefusedError(111, "Connection refused")) == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )
    assert PASSWORD not in scrub.exception(RuntimeError(f"bad {PASSWORD}"))
    assert scrub.exception(TimeoutError()) == "TimeoutError"


def test_exception_without_text_uses_its_cause() -> None:
    try:
        try:
            raise OSError(f"refused by {PASSWORD}")
        except OSError as inner:
            raise RuntimeError() from inner
    except RuntimeError as outer:
        text = Sanitizer([PASSWORD]).exception(outer)
    assert text.startswith("RuntimeError: refused by")
    assert PASSWORD not in text


def test_with_secrets_extends_a_sanitizer() -> None:
    base = Sanitizer(["first-secret"])
    both = base.with_secrets(["second-secret"])
    assert "first-secret" not in both("first-secret second-secret")
    assert "second-secret" not in both("first-secret second-secret")
    assert "second-secret" in base("second-secret")


def test_url_secrets_cover_user_password_and_host() -> None:
    found = url_secrets("postgresql+asyncpg://svc:pa%24%24@db-primary:5432/app")
    assert {"svc", "pa$$", "pa%24%24", "db-primary"} <= found
    assert "localhost" not in url_secrets("redis://localhost:6379/0")
    assert url_secrets("http://[::1") == secret_variants("http://[::1")  # unparseable: the URL itself only
    assert secret_variants("") == set()
