"""keel.yaml's Cloud Run settings: refused before anything is deployed, naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from keel.platforms.cloudrun import CloudRunConfig
from keel.spec import load_spec
from keel.yamlfile import SpecError

BASE = {
    "platform": "cloudrun",
    "project": "bayit-plus",
    "region": "us-east1",
    "service": "bayit-plus-backend",
}


def load(**settings: Any) -> CloudRunConfig:
    return CloudRunConfig.model_validate({**BASE, **settings})


def test_a_service_storing_media_in_gcs_needs_its_bucket() -> None:
    with pytest.raises(ValidationError, match="GCS_BUCKET_NAME: this service stores media in GCS"):
        load(uses=["gcs"])
    with pytest.raises(ValidationError, match="GCS_BUCKET_NAME"):
        load(env={"STORAGE_TYPE": "gcs"})  # declared through the service's own setting
    assert load(uses=["gcs"], env={"GCS_BUCKET_NAME": "bayit-media"}).uses == ("gcs",)
    assert load(uses=["gcs"], secrets={"GCS_BUCKET_NAME": "bayit-bucket:latest"}).secrets


def test_secret_references_are_checked_and_never_echoed() -> None:
    assert load(secrets={"SECRET_KEY": "bayit-secret-key:3"}).secrets == {"SECRET_KEY": "bayit-secret-key:3"}
    with pytest.raises(ValidationError) as err:
        load(secrets={"SECRET_KEY": "s3cr3t-value-pasted-by-mistake"})
    message = err.value.errors()[0]["msg"]  # what keel.yaml's loader shows, with file:line: key
    assert "SECRET_NAME:VERSION" in message and "s3cr3t" not in message
    with pytest.raises(ValidationError, match="both in env and in secrets"):
        load(env={"SECRET_KEY": "x"}, secrets={"SECRET_KEY": "k:latest"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"service": "Bayit_Plus"}, "not a Cloud Run service name"),
        ({"memory": "1GB"}, "512Mi or 2Gi"),
        ({"cpu": "lots"}, "CPU limit"),
        ({"api_endpoint": "http://10.1.2.3:8080"}, "loopback"),
        ({"min_instances": 3, "max_instances": 2}, "exceeds max_instances"),
        ({"env": {"PORT": "9000"}}, "PORT is set by Cloud Run"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        load(**settings)


def test_keel_yaml_names_file_line_and_key_of_a_missing_bucket(tmp_path: Path) -> None:
    spec = tmp_path / "keel.yaml"
    spec.write_text(
        "service: bayit-plus-backend\n"
        "environments:\n"
        "  production:\n"
        "    platform: cloudrun\n"
        "    project: bayit-plus\n"
        "    region: us-east1\n"
        "    service: bayit-plus-backend\n"
        "    uses: [gcs]\n"
    )
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    (problem,) = [str(p) for p in err.value.problems]
    assert problem.startswith(
        f"{spec}:8: environments.production.uses: GCS_BUCKET_NAME: this service stores media"
    )
