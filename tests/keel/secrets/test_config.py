"""keel.yaml's secrets: section: validated with errors naming file:line: key, names only."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.secrets.config import SecretType
from keel.spec import parse_spec
from keel.yamlfile import SpecError, parse_yaml

BASE = """\
service: svc
environments:
  local: {platform: memory}
"""


def parse(tmp_path: Path, secrets: str):  # type: ignore[no-untyped-def]
    return parse_spec(parse_yaml(BASE + secrets, str(tmp_path / "keel.yaml")))


def problems(tmp_path: Path, secrets: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse(tmp_path, secrets)
    return str(caught.value)


def test_a_full_section_parses(tmp_path: Path) -> None:
    spec = parse(
        tmp_path,
        """\
secrets:
  backend: {type: gcp, project: bayit-plus, endpoint: 127.0.0.1:8085}
  environment: local
  items:
    jwt: {type: jwt, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, grace: 2h, every: 90d}
    database: {type: database, env: DATABASE_URL, admin_env: ADMIN_URL, role: bayit_app}
    stripe: {type: stripe, env: STRIPE_SECRET_KEY, id: bayit-stripe-key}
""",
    )
    items = spec.secrets.items
    assert items["jwt"].grace == 7200 and items["jwt"].every == 90 * 86400
    assert (
        items["stripe"].secret_id("stripe") == "bayit-stripe-key"
        and items["stripe"].type is SecretType.STRIPE
    )
    assert parse(tmp_path, "").secrets.backend.type == "local"  # the embedded default


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("secrets:\n  items:\n    jwt: {type: jwt, env: SECRET_KEY}\n", "keel.yaml:6: secrets.items.jwt: "),
        ("secrets:\n  items:\n    jwt: {type: jwt, env: SECRET_KEY}\n", "previous_env"),
        ("secrets:\n  items:\n    db: {type: database, env: DATABASE_URL}\n", "admin_env"),
        ("secrets:\n  items:\n    k: {type: openai, env: lower_case}\n", "keel.yaml:6: secrets.items.k.env"),
        ("secrets:\n  items:\n    k: {type: vault, env: K}\n", "secrets.items.k.type"),
        ("secrets:\n  items:\n    k: {type: openai, env: K, every: soon}\n", "secrets.items.k.every"),
        ("secrets:\n  backend: {type: s3}\n", "secrets.backend"),
        ("secrets:\n  environment: prod\n", "keel.yaml:5: secrets.environment: no environment 'prod'"),
        ("secrets:\n  items:\n    k: {type: openai, env: K, value: sk-123}\n", "secrets.items.k.value"),
    ],
)
def test_bad_sections_name_file_line_and_key(tmp_path: Path, section: str, expected: str) -> None:
    assert expected in problems(tmp_path, section)


def test_a_value_in_keel_yaml_is_refused_without_echoing_it(tmp_path: Path) -> None:
    text = problems(tmp_path, "secrets:\n  items:\n    k: {type: openai, env: K, value: sk-planted-9f8e7d}\n")
    assert "sk-planted-9f8e7d" not in text


CLOUD_RUN = """\
service: svc
environments:
  production: {platform: cloudrun, project: bayit-plus, region: us-east1, service: svc}
secrets:
%s  items:
    openai: {type: openai, env: OPENAI_API_KEY}
"""


def test_a_cloud_run_environment_needs_the_secret_manager_backend(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(parse_yaml(CLOUD_RUN % "  backend: {type: local}\n", str(tmp_path / "keel.yaml")))
    text = str(raised.value)
    assert "keel.yaml:5: secrets.backend:" in text and "runs on Cloud Run" in text and "type: gcp" in text
    with pytest.raises(SpecError, match=r"keel.yaml:4: secrets.backend: .*type: gcp"):
        parse_spec(parse_yaml(CLOUD_RUN % "", str(tmp_path / "keel.yaml")))  # the default: the local file


def test_a_cloud_run_environment_with_secret_manager_is_accepted(tmp_path: Path) -> None:
    text = CLOUD_RUN % "  backend: {type: gcp, project: bayit-plus}\n"
    spec = parse_spec(parse_yaml(text, str(tmp_path / "keel.yaml")))
    assert spec.secrets.backend.type == "gcp"


def test_a_cloud_run_reference_must_name_the_items_secret(tmp_path: Path) -> None:
    text = (
        CLOUD_RUN.replace("service: svc}", "service: svc, secrets: {OPENAI_API_KEY: 'other-key:latest'}}")
        % "  backend: {type: gcp, project: bayit-plus}\n"
    )
    with pytest.raises(
        SpecError, match=r"keel.yaml:3: environments.production.secrets.OPENAI_API_KEY: .*'other-key'"
    ):
        parse_spec(parse_yaml(text, str(tmp_path / "keel.yaml")))
    same = text.replace("other-key", "openai")
    assert parse_spec(parse_yaml(same, str(tmp_path / "keel.yaml"))).secrets.items
