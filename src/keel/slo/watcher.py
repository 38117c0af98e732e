"""The embedded watcher: scrape, evaluate the shared rules, and notify like Alertmanager (once per alert,
repeat while firing, resolve), with the state in the store so a restart neither loses nor re-pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from keel.notify.base import Event, Notifier, Severity
from keel.slo.config import AlertsSpec, Receiver
from keel.slo.evaluate import History, Reading, evaluate
from keel.slo.rules import AlertRule, BurnRate, ErrorRatio, LatencyQuantile, build_rules
from keel.slo.samples import Target
from keel.store import AlertRow

if TYPE_CHECKING:
    from keel.spec import KeelSpec
    from keel.store import Store

log = logging.getLogger("keel.slo.watcher")

_NOTIFY_SEVERITY = {"page": Severity.CRITICAL, "ticket": Severity.WARNING, "warning": Severity.WARNING}


@dataclass(frozen=True)
class Change:
    """Something one evaluation did to an alert: fired, repeated, resolved (and whether it was delivered)."""

    key: str
    name: str
    event: str  # firing, repeat, resolved
    at: float
    value: float | None
    delivered: bool


def _clean(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _span(rules: tuple[AlertRule, ...]) -> float:
    """How much history the rules need: their longest window."""
    spans = [0.0]
    for rule in rules:
        cond = rule.condition
        if isinstance(cond, ErrorRatio | LatencyQuantile):
            spans.append(cond.window)
        elif isinstance(cond, BurnRate):
            spans += [w.long for w in cond.windows]
    return max(spans)


class Watcher:
    """Evaluate ``rules`` against ``target`` every ``interval``. ``evaluate_once`` is one tick (tests call it
    with an injected clock); ``run`` loops until ``stop`` is set."""

    def __init__(
        self,
        rules: tuple[AlertRule, ...],
        target: Target,
        *,
        interval: float,
        notifiers: Mapping[str, Notifier],
        routes: Mapping[Any, Receiver],
        service: str,
        environment: str,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        timeout: float = 3.0,
        on_change: Callable[[Change], None] | None = None,
    ) -> None:
        self.rules = rules
        self.on_change = on_change
        self.target = target
        self.interval = interval
        self.notifiers = dict(notifiers)
        self.routes: dict[str, Receiver] = dict(routes)
        self.service = service
        self.environment = environment
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.timeout = timeout
        self.history = History(_span(rules) + 2 * interval)
        self.failures: list[str] = []
        self.evaluations = 0
        self._state: dict[str, AlertRow] = {r.key: self._blank(r) for r in rules}
        if store is not None:
            for row in store.alerts(service, environment):
                if row.key in self._state:
                    self._state[row.key] = row

    def _blank(self, rule: AlertRule) -> AlertRow:
        return AlertRow(rule.key, self.service, self.environment, rule.name, rule.severity, "inactive")

    # -- reading the state -------------------------------------------------------------------------------

    def alerts(self) -> list[AlertRow]:
        """Alerts pending or firing now."""
        return [row for row in self._state.values() if row.state != "inactive"]

    def firing(self) -> list[AlertRow]:
        """Alerts firing now (a resolved one whose resolve notification is still being retried is not)."""
        return [row for row in self._state.values() if row.state == "firing"]

    # -- one tick ----------------------------------------------------------------------------------------

    async def evaluate_once(self) -> list[Change]:
        sample = await self.target.sample()
        self.history.add(sample)
        now = self.clock()
        self.evaluations += 1
        changes: list[Change] = []
        for rule in self.rules:
            change = await self._step(rule, evaluate(rule.condition, self.history), now)
            if change is not None:
                changes.append(change)
                if self.on_change is not None:
                    self.on_change(change)
        return changes

    async def _step(self, rule: AlertRule, reading: Reading, now: float) -> Change | None:
        row = self._state[rule.key]
        before = row
        change: Change | None = None
        value = _clean(reading.value)
        if row.state == "resolving":  # a resolve notification that has not been delivered yet
            if reading.active is True:  # back before the resolve got out: the open incident still stands
                row = replace(row, state="firing")
            else:
                if await self._notify(rule, row, "resolved", now):
                    row = self._blank(rule)
                    change = Change(rule.key, rule.name, "resolved", now, before.value, True)
                self._save(row, before)
                return change
        if reading.active is True:
            row = replace(row, active_count=row.active_count + 1, last_active=now, value=value,
                          detail=reading.detail)  # fmt: skip
            if row.state == "inactive":
                row = replace(row, state="pending", active_since=now)
            needed = round(rule.for_ / self.interval) + 1 if self.interval > 0 else 1
            if row.state == "pending" and row.active_count >= needed:
                row = replace(row, state="firing", fired_at=now, last_notified=None)
                self._history(row, "firing", now, value, reading.detail)
        elif reading.active is False:
            row = replace(row, active_count=0)
            if row.state == "pending":
                row = replace(row, state="inactive", active_since=None)
            elif row.state == "firing" and now - (row.last_active or now) >= rule.keep_firing_for:
                delivered = True
                if row.notifications:
                    delivered = await self._notify(rule, row, "resolved", now)
                self._history(row, "resolved", now, row.value, "")
                change = Change(rule.key, rule.name, "resolved", now, row.value, delivered)
                row = self._blank(rule) if delivered else replace(row, state="resolving")
        if row.state == "firing":
            repeat = self.routes[rule.severity].repeat if rule.severity in self.routes else math.inf
            if row.last_notified is None or now - row.last_notified >= repeat:
                event = "firing" if row.last_notified is None else "repeat"
                delivered = await self._notify(rule, row, event, now)
                if delivered:
                    row = replace(row, last_notified=now, notifications=row.notifications + 1)
                    self._history(row, f"notified:{event}", now, row.value, "")
                change = Change(rule.key, rule.name, event, now, row.value, delivered)
        self._save(row, before)
        return change

    def _save(self, row: AlertRow, before: AlertRow) -> None:
        if row != before:
            self._state[row.key] = row
            if self.store is not None:
                self.store.save_alert(row)

    def _history(self, row: AlertRow, event: str, at: float, value: float | None, detail: str) -> None:
        if self.store is not None:
            self.store.add_alert_event(row, event, at, value, detail)

    # -- notifying ---------------------------------------------------------------------------------------

    def event(self, rule: AlertRule, row: AlertRow, kind: str, at: float) -> Event:
        """The payload: service, environment, alert, value, threshold, runbook and dashboard; no secret."""
        value = "n/a" if row.value is None else f"{row.value:.4g}"
        state = "resolved" if kind == "resolved" else "firing"
        detail = f" ({row.detail})" if row.detail else ""
        return Event(
            kind="alert_resolved" if kind == "resolved" else "alert_firing",
            title=f"{rule.name} {state}",
            message=f"{rule.summary}{detail}: value {value}, threshold {rule.threshold:g}",
            severity=Severity.INFO if kind == "resolved" else _NOTIFY_SEVERITY[rule.severity],
            service=self.service,
            environment=self.environment,
            at=at,
            data={
                "dedup_key": f"{self.service}/{self.environment}/{rule.key}",
                "alert": rule.name,
                "severity": rule.severity,
                "state": state,
                "value": row.value if row.value is not None else "n/a",
                "threshold": rule.threshold,
                "runbook": rule.runbook_url,
                "dashboard": rule.dashboard_url,
                **({"repeat": True} if kind == "repeat" else {}),
            },
        )

    async def _notify(self, rule: AlertRule, row: AlertRow, kind: str, at: float) -> bool:
        route = self.routes.get(rule.severity)
        notifier = self.notifiers.get(route.channel) if route else None
        if notifier is None:
            return True  # no channel for this severity: the state and history still record it
        try:
            await asyncio.wait_for(notifier.send(self.event(rule, row, kind, at)), self.timeout)
            return True
        except Exception as exc:  # a channel down must not stop the watcher; retried next tick
            message = f"{notifier.name}: {rule.name} {kind}: {exc or type(exc).__name__}"
            self.failures.append(message)
            log.warning("notification failed: %s", message)
            return False

    # -- the loop ----------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Tick every ``interval`` until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            started = self.clock()
            try:
                await self.evaluate_once()
            except Exception as exc:  # one bad scrape or store hiccup must not end the watch
                self.failures.append(f"evaluation: {exc or type(exc).__name__}")
                log.warning("evaluation failed: %s", exc)
            pause = max(0.0, self.interval - (self.clock() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def aclose(self) -> None:
        await self.target.aclose()
        for notifier in self.notifiers.values():
            await notifier.aclose()

    # -- from keel.yaml ----------------------------------------------------------------------------------

    @classmethod
    def from_spec(
        cls,
        spec: KeelSpec,
        environment: str,
        url: str,
        *,
        store: Store | None = None,
        environ: Mapping[str, str] | None = None,
        alerts: AlertsSpec | None = None,
        target: Target | None = None,
        **options: Any,
    ) -> tuple[Watcher, list[str]]:
        """A watcher of the service at ``url`` (its /metrics and readiness path) with keel.yaml's rules and
        notify channels. Returns it and warnings (channels whose secret variable is unset are skipped).
        ``target`` replaces the HTTP scrape of ``url`` (``keel.slo.router.RouterTarget`` for the local
        platform); ``options`` go to the constructor (clock, on_change, ...)."""
        from keel.notify.registry import create_notifiers
        from keel.slo.samples import HttpTarget

        alerts = alerts or spec.alerts
        rules = build_rules(alerts, spec.slos, spec.service, environment)
        used = {r.channel for r in alerts.routes.values()}
        channels: dict[str, dict[str, Any]] = {n: c for n, c in spec.notify.channels.items() if n in used}
        notifiers, warnings = create_notifiers(channels, spec.notify.timeout, environ)
        target = target or HttpTarget(url, alerts.signals, ready_path=spec.gates.health.path)
        watcher = cls(
            rules, target, interval=alerts.interval, notifiers={n.name: n for n in notifiers},
            routes=alerts.routes, service=spec.service, environment=environment, store=store,
            timeout=spec.notify.timeout, **options,
        )  # fmt: skip
        return watcher, warnings
