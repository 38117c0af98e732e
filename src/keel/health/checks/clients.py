"""Client libraries of the checks: optional extras of keel, looked for when a check is built, imported on use."""

from __future__ import annotations

import importlib.util

from keel.health.errors import HealthConfigError


def require(package: str, *, check: str, extra: str) -> None:
    """Refuse to build a check whose client library is not installed, naming the extra that brings it.

    Only looks the package up (no import), so building a check stays cheap; the check imports its client
    on first use.
    """
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise HealthConfigError(
            f"the {check} health check needs the Python package {package!r}, which is not installed: "
            f"pip install 'keel[{extra}]'"
        )
