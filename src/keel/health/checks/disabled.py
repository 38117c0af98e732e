"""A dependency that is not configured: disabled when declared optional here, a configuration fault otherwise."""

from __future__ import annotations

from keel.health.base import BaseCheck, Observation, Outcome


class NotConfigured(BaseCheck):
    """Stands in for a check whose settings are missing, and says why."""

    kind = "not_configured"

    def __init__(
        self, name: str, reason: str, *, allowed: bool = True, component_type: str = "component"
    ) -> None:
        self.name = name
        self.reason = reason
        self.allowed = allowed  # the environment declares this dependency may be absent
        self.component_type = component_type

    async def probe(self) -> Observation:
        if self.allowed:
            return Observation(Outcome.DISABLED, self.reason)
        return Observation(Outcome.MISCONFIGURED, f"not configured: {self.reason}")
