"""From keel.yaml's ``secrets.backend`` to a backend."""

from __future__ import annotations

from pathlib import Path

from keel.secrets.backends.base import SecretBackend
from keel.secrets.config import GcpBackendConfig, LocalBackendConfig, SecretsSpec


def create_backend(
    secrets: SecretsSpec, *, service: str, project_dir: Path, state_dir: Path, create_key: bool = True
) -> SecretBackend:
    """The configured backend. The local file's key is created on first use when ``create_key``."""
    config = secrets.backend
    if isinstance(config, GcpBackendConfig):
        from keel.secrets.backends.gcp import SecretManagerBackend

        return SecretManagerBackend.from_config(config)
    assert isinstance(config, LocalBackendConfig)
    from keel.secrets.backends.localfile import LocalFileBackend, default_key_file, load_key

    path = project_dir / config.path if config.path else state_dir / "secrets.json"
    key_file = Path(config.key_file).expanduser() if config.key_file else default_key_file(service)
    if not key_file.is_absolute():
        key_file = project_dir / key_file
    return LocalFileBackend(path, load_key(key_file, create=create_key, project_dir=project_dir))
