"""Configuration: production names, loud failures, one line per problem, no secret ever echoed."""

from __future__ import annotations

import pytest

from bayit.settings import Environment, SettingsError, load_settings

GOOD_KEY = "kT9vQ2mX7pL4wR8zN3bH6jF1cY5dG0sA-tUeWiOqPy"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ENVIRONMENT",
        "SECRET_KEY",
        "SECRET_KEY_OLD",
        "STORAGE_TYPE",
        "GCS_BUCKET_NAME",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_for_development() -> None:
    s = load_settings()
    assert s.APP_NAME == "Bayit+ API"
    assert s.API_V1_PREFIX == "/api/v1"
    assert s.ENVIRONMENT is Environment.development
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.PORT == 8080
    assert len(s.signing_key) >= 32  # generated for development


def test_reads_production_names_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("STORAGE_TYPE", "gcs")
    monkeypatch.setenv("GCS_BUCKET_NAME", "bayit-media")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    s = load_settings()
    assert s.is_production and s.PORT == 9000 and s.GCS_BUCKET_NAME == "bayit-media"
    assert s.OPENAI_API_KEY is None  # empty means not configured


@pytest.mark.parametrize("env", ["staging", "production"])
def test_secret_key_required_outside_development(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("ENVIRONMENT", env)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.problems == [f"SECRET_KEY: required when ENVIRONMENT={env}"]


@pytest.mark.parametrize(
    "key",
    [
        "short",
        "changeme-changeme-changeme-changeme-x",
        "a" * 40,
        "your-secret-key-here-please-change-it-now",
        "abcdefgh" * 5 + "12345",
    ],
)
def test_weak_secret_keys_are_refused_without_echoing_them(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.problems[0].startswith("SECRET_KEY: ")
    assert key not in str(info.value)


def test_old_key_verifies_but_never_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    old = "Zr4Nb8Lp2Xw6Qm0Tc3Vy7Hd1Kg5Jf9Sa-oEuIyRtWq"
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("SECRET_KEY_OLD", old)
    s = load_settings()
    assert s.signing_key == GOOD_KEY
    assert s.verification_keys == (GOOD_KEY, old)


def test_gcs_without_bucket_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_TYPE", "gcs")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.problems == [
        "GCS_BUCKET_NAME: required when STORAGE_TYPE=gcs (refusing to start without storage)"
    ]


def test_every_problem_on_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    planted = "sk-live-PLANTED-7f3a9c2e"
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("PORT", "99999")
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", "2")
    monkeypatch.setenv("API_V1_PREFIX", "api")
    monkeypatch.setenv("STRIPE_SECRET_KEY", planted)
    with pytest.raises(SettingsError) as info:
        load_settings()
    fields = sorted(line.split(":")[0] for line in info.value.problems)
    assert fields == ["API_V1_PREFIX", "ENVIRONMENT", "LOG_LEVEL", "PORT", "SENTRY_TRACES_SAMPLE_RATE"]
    assert planted not in str(info.value)
    assert "chatty" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://u:Planted-1@h/d",
            "DATABASE_URL: unsupported database 'mysql'; use postgresql:// or sqlite:///",
        ),
        ("postgresql://u:Planted-1@h:port/d", "DATABASE_URL: not a database URL; expected"),
        ("postgresql://u:Planted-1@/d", "DATABASE_URL: PostgreSQL URL has no host"),
        ("postgresql://u:Planted-1@h", "DATABASE_URL: PostgreSQL URL names no database"),
        ("postgresql+mysqldb://u:Planted-1@h/d", "DATABASE_URL: unsupported driver 'mysqldb'"),
        ("Planted-1", "DATABASE_URL: not a database URL"),
    ],
)
def test_a_bad_database_url_is_one_line_without_the_value(url: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(DATABASE_URL=url)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(message)
    assert "Planted-1" not in str(info.value)


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("https://o1.ingest.sentry.io/42", "has no public key"),
        ("ftp://Planted-1@o1.ingest.sentry.io/42", "must start with https://"),
        ("https://Planted-1@o1.ingest.sentry.io/", "does not end with a numeric project id"),
        ("https://Planted-1@o1.ingest.sentry.io:99999/42", "not a Sentry DSN"),
    ],
)
def test_a_bad_sentry_dsn_is_one_line_without_the_value(dsn: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(SENTRY_DSN=dsn)
    assert info.value.problems == [f"SENTRY_DSN: {message}" + info.value.problems[0].split(message, 1)[1]]
    assert "Planted-1" not in str(info.value)


def test_cors_origins() -> None:
    assert load_settings(CORS_ALLOW_ORIGINS="https://bayit.tv, http://localhost:3000").cors_origins == [
        "https://bayit.tv",
        "http://localhost:3000",
    ]
    assert load_settings().cors_origins == []
    with pytest.raises(SettingsError, match=r"CORS_ALLOW_ORIGINS: .https://bayit\.tv/app. is not an origin"):
        load_settings(CORS_ALLOW_ORIGINS="https://bayit.tv/app")
