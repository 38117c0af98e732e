from __future__ import annotations

from keel.errors import ConfigError, KeelError
from keel.health.errors import HealthConfigError, HealthError


def test_health_errors_are_keel_errors_and_config_errors_exit_2() -> None:
    assert issubclass(HealthError, KeelError)
    assert issubclass(HealthConfigError, HealthError)
    assert issubclass(HealthConfigError, ConfigError)
    assert HealthConfigError("x").exit_code == 2
