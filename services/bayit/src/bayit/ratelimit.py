"""Login brute-force protection: exponential backoff per client address and per account, in bounded memory.

- A client address gets ``address_free_failures`` wrong logins, then must wait ``base_delay`` seconds, doubled
  on each further failure up to ``address_max_delay``: one machine guessing passwords slows to a crawl.
- An account gets more (``account_free_failures``, a distributed attack from many addresses), then the same
  backoff capped lower (``account_max_delay``), so an attacker can never lock its owner out for long.
- Addresses that signed in to an account successfully are remembered for it (a few per account) and are not
  held back by the account's backoff: the owner's usual device keeps working while strangers fail; they
  still have their own per-address limit.
- Failures are forgotten after ``forget_after`` seconds without one; a success clears both counters.
- Everything lives in this process, in LRU tables of at most ``max_entries`` keys each (the oldest entry is
  dropped first), so an attacker cycling addresses or emails cannot grow memory. Several instances each keep
  their own tables: the limits then apply per instance.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoginPolicy:
    address_free_failures: int = 5
    account_free_failures: int = 10
    base_delay: float = 1.0
    address_max_delay: float = 900.0
    account_max_delay: float = 300.0
    forget_after: float = 3600.0
    max_entries: int = 10_000
    trusted_per_account: int = 4


@dataclass
class _Record:
    failures: int = 0
    blocked_until: float = 0.0
    last_failure: float = 0.0


class BackoffTable:
    """Failure counts and block deadlines by key, least recently touched dropped first."""

    def __init__(self, free: int, base: float, cap: float, forget_after: float, max_entries: int) -> None:
        self.free, self.base, self.cap = free, base, cap
        self.forget_after = forget_after
        self.max_entries = max_entries
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        record = self._records.get(key)
        if record is None:
            return 0.0
        if now - record.last_failure > self.forget_after:
            del self._records[key]
            return 0.0
        return max(0.0, record.blocked_until - now)

    def fail(self, key: str, now: float) -> None:
        record = self._records.pop(key, None)
        if record is None or now - record.last_failure > self.forget_after:
            record = _Record()
        record.failures += 1
        record.last_failure = now
        over = record.failures - self.free
        if over >= 0:
            record.blocked_until = now + min(self.cap, self.base * 2.0**over)
        self._records[key] = record
        while len(self._records) > self.max_entries:
            self._records.popitem(last=False)

    def clear(self, key: str) -> None:
        self._records.pop(key, None)


class LoginGuard:
    """Asked before a password is checked (``retry_after``), told the outcome after (``failed``/``succeeded``)."""

    def __init__(
        self, policy: LoginPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = p = policy or LoginPolicy()
        self.clock = clock
        self.addresses = BackoffTable(
            p.address_free_failures, p.base_delay, p.address_max_delay, p.forget_after, p.max_entries
        )
        self.accounts = BackoffTable(
            p.account_free_failures, p.base_delay, p.account_max_delay, p.forget_after, p.max_entries
        )
        self._trusted: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def retry_after(self, account: str, address: str) -> int | None:
        """Whole seconds to wait before this address may try this account again, or None to go ahead."""
        now = self.clock()
        wait = self.addresses.wait(address, now)
        if address not in self._trusted.get(account, ()):
            wait = max(wait, self.accounts.wait(account, now))
        return math.ceil(wait) if wait > 0 else None

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        self.addresses.fail(address, now)
        self.accounts.fail(account, now)

    def succeeded(self, account: str, address: str) -> None:
        self.addresses.clear(address)
        self.accounts.clear(account)
        known = self._trusted.pop(account, ())
        if address not in known:
            known = (*known, address)[-self.policy.trusted_per_account :]
        self._trusted[account] = known
        while len(self._trusted) > self.policy.max_entries:
            self._trusted.popitem(last=False)
