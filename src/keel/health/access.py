"""Who may see per-dependency details: holders of the health token (constant-time check) or development."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DetailsAccess:
    """Deep-health details are shown to callers sending ``header: token``, or to everyone when public."""

    token: str | None = field(default=None, repr=False)
    header: str = "X-Health-Token"
    public: bool = False  # development: details for everyone

    def allows(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        if self.public:
            return True
        if not self.token:
            return False
        key = self.header.lower().encode("latin-1")
        for name, value in headers:
            if name.lower() == key:
                return hmac.compare_digest(value, self.token.encode())
        return False
