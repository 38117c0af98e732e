"""Run a suite against one base URL: auth step, concurrent groups, latency checks, clean-up, one deadline."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from keel.errors import ConfigError
from keel.smoke import latency as sampling
from keel.smoke.errors import TemplateError
from keel.smoke.probe import MAX_REDIRECTS, Verdict, build, classify, judge
from keel.smoke.report import CheckResult, FailureKind, LatencyResult, Outcome, SmokeReport
from keel.smoke.suite import Check, LatencyCheck, Request, Suite
from keel.smoke.templates import Redactor, Variables, references, references_in
from keel.types import Clock, Sleeper

USER_AGENT = "keel-smoke/1"


def base_url_of(url: str) -> httpx.URL:
    """Validate a base URL given by the user (a usage error, exit 2, when it is not http(s)://host)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"invalid URL {public_url(url)!r}: {exc}") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ConfigError(f"invalid URL {public_url(url)!r}: expected http:// or https:// and a host")
    return parsed


def public_url(url: str) -> str:
    """The URL as reports may show it: without any user:password part."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def _required_environment(suite: Suite) -> set[str]:
    found: set[str] = set()
    for variable in suite.variables.values():
        found |= references(variable.value)
    requests: list[Request] = [*suite.cleanup, *(suite.auth.steps if suite.auth else ())]
    requests += [c for g in suite.groups.values() for c in g.checks]
    requests += list(suite.latency.checks if suite.latency else ())
    for r in requests:
        found |= references(r.path) | references_in(r.headers) | references_in(r.json_body)
        found |= references(r.body or "")
    found |= references_in(suite.auth.headers if suite.auth else {}) | references_in(suite.defaults.headers)
    return {name[4:] for name in found if name.startswith("env.")}


@dataclass
class Target:
    """Everything a run needs against one URL: its client, variables (and redactor) and results so far."""

    suite: Suite
    base: httpx.URL
    client: httpx.AsyncClient
    variables: Variables
    clock: Clock
    sleeper: Sleeper
    semaphore: asyncio.Semaphore
    default_headers: dict[str, str] = field(default_factory=dict)
    results: dict[tuple[str, str], CheckResult] = field(default_factory=dict)
    auth: asyncio.Future[dict[str, str] | None] | None = None

    @property
    def redact(self) -> Redactor:
        return self.variables.redactor

    def url(self, path: str) -> httpx.URL:
        prefix = self.base.raw_path.decode().split("?", 1)[0].rstrip("/")
        return self.base.join(prefix + path)

    async def send(self, request: Request, scope: Variables, extra: Mapping[str, str]) -> httpx.Response:
        kwargs = build(request, scope, {**self.default_headers, **extra})
        timeout = request.timeout or self.suite.defaults.timeout
        url = self.url(scope.render(request.path))
        async with asyncio.timeout(timeout):
            return await self.client.request(url=url, timeout=httpx.Timeout(timeout), **kwargs)

    async def attempt(self, check: Check, scope: Variables, extra: Mapping[str, str]) -> Verdict:
        timeout = check.timeout or self.suite.defaults.timeout
        try:
            response = await self.send(check, scope, extra)
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            kind, message = classify(exc, self.url(scope.render(check.path)), timeout)
            return Verdict(kind, message)
        return judge(check, response, scope)

    async def auth_headers(self, check: Request) -> dict[str, str] | None:
        """The auth headers for a check that wants them; None when the auth step failed."""
        if not check.auth:
            return {}
        if self.auth is None:
            return None
        return await self.auth

    def skip(self, group: str, check: Request, reason: str) -> CheckResult:
        result = CheckResult(group, check.name, check.method, check.path, Outcome.skipped, None, reason)
        self.results[(group, check.name)] = result
        return result

    async def check(
        self, group: str, check: Check, scope: Variables, secret_captures: bool = False
    ) -> CheckResult:
        """Run one check, with its declared retries; captures go into ``scope``."""
        extra = await self.auth_headers(check)
        if extra is None:
            return self.skip(group, check, "skipped: the auth step failed")
        try:
            build(check, scope, extra)
            scope.render(check.path)
        except TemplateError as exc:  # an ``always`` step after the step that should have captured it failed
            return self.skip(group, check, f"skipped: {exc}")
        attempts = check.retries.attempts if check.retries else 1
        start = self.clock()
        verdict = Verdict(FailureKind.connection_error, "not run")
        tried = 0
        for tried in range(1, attempts + 1):
            async with self.semaphore:
                verdict = await self.attempt(check, scope, extra)
            if verdict.kind is None or tried == attempts or check.retries is None:
                break
            await self.sleeper(check.retries.delay)
        for name, value in verdict.captured.items():
            capture = check.capture[name]
            scope.set(name, value, secret=capture.secret or secret_captures)
        outcome = Outcome.passed if verdict.kind is None else Outcome.failed
        message = verdict.message
        if tried > 1:
            message = f"{message} (after {tried} attempts)" if message else f"passed on attempt {tried}"
        result = CheckResult(
            group=group,
            name=check.name,
            method=check.method,
            path=self.redact(self._shown_path(check, scope)),
            outcome=outcome,
            kind=verdict.kind,
            message=self.redact(message),
            status=verdict.status,
            duration_s=self.clock() - start,
            attempts=tried,
        )
        self.results[(group, check.name)] = result
        return result

    def _shown_path(self, check: Request, scope: Variables) -> str:
        try:
            return scope.render(check.path)
        except ConfigError:
            return check.path

    async def flow(
        self, group: str, checks: Sequence[Check], sequential: bool, secret_captures: bool = False
    ) -> bool:
        """Run a group; True when every check passed. A sequential flow stops at its first failure, except
        for ``always`` steps (clean-up), which still run."""
        if not sequential:
            results = await asyncio.gather(*(self.check(group, c, self.variables) for c in checks))
            return all(r.outcome is Outcome.passed for r in results)
        scope = self.variables if secret_captures else self.variables.child()
        failed: str | None = None
        for check in checks:
            if failed is not None and not check.always:
                self.skip(group, check, f"skipped: earlier step {failed!r} failed")
                continue
            result = await self.check(group, check, scope, secret_captures)
            if result.outcome is not Outcome.passed and failed is None:
                failed = check.name
        return failed is None

    async def sign_in(self) -> None:
        """The auth step: run its steps, then render the auth headers (secrets) for every ``auth`` check."""
        assert self.auth is not None and self.suite.auth is not None
        try:
            ok = await self.flow("auth", self.suite.auth.steps, sequential=True, secret_captures=True)
            headers = self.variables.render_headers(self.suite.auth.headers.items()) if ok else None
        except BaseException:
            self.auth.set_result(None)
            raise
        self.auth.set_result(headers)

    async def latency_check(self, check: LatencyCheck, warmup: int, samples: int) -> LatencyResult:
        extra = await self.auth_headers(check)
        if extra is None:
            return self.latency_result(check, Outcome.skipped, message="skipped: the auth step failed")
        samples_taken = await sampling.sample(self.probe(check, extra), warmup, samples, self.clock)
        if samples_taken.error is not None:
            error = samples_taken.error
            return self.latency_result(
                check, Outcome.failed, samples_taken.values, None, error.kind, error.message
            )
        value = sampling.percentile(samples_taken.values, check.percentile)
        assert value is not None
        shown = f"p{check.percentile:g} {sampling.format_seconds(value)} of {samples} samples"
        limit = sampling.format_seconds(check.max)
        if value < check.max:
            return self.latency_result(
                check, Outcome.passed, samples_taken.values, value, None, f"{shown} < {limit}"
            )
        return self.latency_result(
            check, Outcome.failed, samples_taken.values, value, FailureKind.latency, f"{shown}, limit {limit}"
        )

    def latency_result(
        self,
        check: LatencyCheck,
        outcome: Outcome,
        samples: Sequence[float] = (),
        value: float | None = None,
        kind: FailureKind | None = None,
        message: str = "",
    ) -> LatencyResult:
        return LatencyResult(
            name=check.name,
            method=check.method,
            path=self.redact(self._shown_path(check, self.variables)),
            percentile=check.percentile,
            threshold_s=check.max,
            outcome=outcome,
            samples=tuple(samples),
            value_s=value,
            kind=kind,
            message=self.redact(message),
        )

    def probe(self, check: LatencyCheck, extra: Mapping[str, str]) -> sampling.Probe:
        """One latency sample: a request whose answer must have an expected status."""
        timeout = check.timeout or self.suite.defaults.timeout

        async def run() -> sampling.SampleError | None:
            try:
                response = await self.send(check, self.variables, extra)
            except (httpx.HTTPError, OSError, TimeoutError) as exc:
                kind, message = classify(exc, self.url(self.variables.render(check.path)), timeout)
                return sampling.SampleError(kind, self.redact(message))
            if response.status_code not in check.status:
                wanted = " or ".join(str(s) for s in check.status)
                return sampling.SampleError(
                    FailureKind.wrong_status, f"expected status {wanted}, got {response.status_code}"
                )
            return None

        return run


def new_client(suite: Suite, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    # trust_env=False: a proxy from the environment must never stand between the check and the revision.
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        max_redirects=MAX_REDIRECTS,
        limits=httpx.Limits(
            max_connections=suite.concurrency + 2, max_keepalive_connections=suite.concurrency
        ),
        headers={"User-Agent": USER_AGENT},
    )


def prepare_variables(suite: Suite, rng: random.Random, environ: Mapping[str, str]) -> Variables:
    """Builtins and suite variables, rendered once per run. A missing environment variable is a
    configuration error (exit 2), reported before any request is sent."""
    missing = sorted(name for name in _required_environment(suite) if name not in environ)
    if missing:
        raise ConfigError(f"suite {suite.name}: environment variables not set: {', '.join(missing)}")
    variables = Variables(Redactor(), environ)
    variables.set("run_id", f"{rng.getrandbits(48):012x}")
    for name, variable in suite.variables.items():
        variables.set(name, variables.render(variable.value), secret=variable.secret)
    return variables


def _uses_auth(suite: Suite, groups: Sequence[str], include_latency: bool) -> bool:
    """Whether a selected check needs the auth step. Clean-up does not count: its ``auth`` steps undo what
    the auth step made (the throw-away user), so they run only when it ran."""
    checks: list[Request] = [c for g in groups for c in suite.groups[g].checks]
    if include_latency and suite.latency:
        checks += suite.latency.checks
    return suite.auth is not None and any(c.auth for c in checks)


def select_groups(suite: Suite, only: Sequence[str] | None) -> list[str]:
    if not only:
        return list(suite.groups)
    unknown = [g for g in only if g not in suite.groups]
    if unknown:
        known = ", ".join(suite.groups) or "none"
        raise ConfigError(f"suite {suite.name} has no group {', '.join(unknown)} (groups: {known})")
    return [g for g in suite.groups if g in only]


async def run_suite(
    suite: Suite,
    base_url: str,
    deadline_s: float | None = None,
    include_latency: bool = True,
    *,
    groups: Sequence[str] | None = None,
    clock: Clock = time.perf_counter,
    sleeper: Sleeper = asyncio.sleep,
    rng: random.Random | None = None,
    environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SmokeReport:
    """Run ``suite`` against ``base_url`` and report every check. ``deadline_s`` (default: the suite's
    ``deadline``) bounds the checks and latency samples; whatever has not finished by then fails as
    ``deadline``. Clean-up steps run afterwards, bounded by their own timeouts."""
    base = base_url_of(base_url)
    deadline = deadline_s if deadline_s is not None else suite.deadline
    if deadline <= 0:
        raise ConfigError("the deadline must be positive")
    selected = select_groups(suite, groups)
    variables = prepare_variables(suite, rng or random.Random(), os.environ if environ is None else environ)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = clock()
    latency_results: dict[str, LatencyResult] = {}
    async with new_client(suite, transport) as client:
        target = Target(
            suite=suite,
            base=base,
            client=client,
            variables=variables,
            clock=clock,
            sleeper=sleeper,
            semaphore=asyncio.Semaphore(suite.concurrency),
        )
        target.default_headers = variables.render_headers(suite.defaults.headers.items())
        if _uses_auth(suite, selected, include_latency):
            target.auth = asyncio.get_running_loop().create_future()
        cleanup = tuple(c for c in suite.cleanup if target.auth is not None or not c.auth)

        async def checks_then_latency() -> None:
            async with asyncio.TaskGroup() as tasks:
                if target.auth is not None:
                    tasks.create_task(target.sign_in())
                for name in selected:
                    group = suite.groups[name]
                    tasks.create_task(target.flow(name, group.checks, group.sequential))
            if include_latency and suite.latency is not None:
                spec = suite.latency
                for check in spec.checks:
                    warmup = spec.warmup if check.warmup is None else check.warmup
                    count = spec.samples if check.samples is None else check.samples
                    latency_results[check.name] = await target.latency_check(check, warmup, count)

        timed_out = False
        try:
            async with asyncio.timeout(deadline):
                await checks_then_latency()
        except TimeoutError:
            timed_out = True
        if target.auth is not None and not target.auth.done():
            target.auth.set_result(None)
        if cleanup:
            await target.flow("cleanup", cleanup, sequential=True)

    late = f"not finished within the suite deadline of {deadline:g}s"
    planned: list[tuple[str, Request]] = []
    if target.auth is not None and suite.auth is not None:
        planned += [("auth", c) for c in suite.auth.steps]
    planned += [(g, c) for g in selected for c in suite.groups[g].checks]
    checks = []
    for group, request in planned:
        done = target.results.get((group, request.name))
        checks.append(
            done
            or CheckResult(
                group, request.name, request.method, request.path, Outcome.failed, FailureKind.deadline, late
            )
        )
    checks += [target.results[("cleanup", c.name)] for c in cleanup if ("cleanup", c.name) in target.results]
    latency: list[LatencyResult] = []
    if include_latency and suite.latency is not None:
        for lc in suite.latency.checks:
            latency.append(
                latency_results.get(lc.name)
                or target.latency_result(lc, Outcome.failed, kind=FailureKind.deadline, message=late)
            )
    return SmokeReport(
        suite=suite.name,
        base_url=public_url(base_url),
        started_at=started_at,
        duration_s=clock() - start,
        checks=tuple(checks),
        latency=tuple(latency),
        deadline_s=deadline,
        notes=(f"stopped at the deadline of {deadline:g}s",) if timed_out else (),
    )
