"""run_suite against a local server that misbehaves on purpose: every failure kind is named correctly."""

from __future__ import annotations

import asyncio
import datetime
import json
import random
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keel.errors import ConfigError
from keel.smoke import FailureKind, Outcome, SmokeReport, parse_suite, run_suite
from tests.keel.smoke.misbehaving import PASSWORD, MisbehavingServer


def one_check(check: str, **suite: str) -> str:
    head = "".join(f"{k}: {v}\n" for k, v in suite.items())
    return f"{head}groups:\n  g:\n    checks:\n      - {check}\n"


async def run_one(url: str, check: str, **kwargs: object) -> SmokeReport:
    return await run_suite(parse_suite(one_check(check)), url, **kwargs)  # type: ignore[arg-type]


def only_result(report: SmokeReport) -> tuple[Outcome, FailureKind | None, str]:
    assert len(report.checks) == 1, report.checks
    c = report.checks[0]
    return c.outcome, c.kind, c.message


async def test_a_good_check_passes(server: MisbehavingServer) -> None:
    report = await run_one(
        server.url,
        "{name: ok, path: /ok, expect: {status: 200, content_type: application/json,"
        " json: [{path: status, equals: healthy}]}}",
    )
    assert only_result(report) == (Outcome.passed, None, "")
    assert report.passed and report.failures == ()
    assert report.checks[0].status == 200


@pytest.mark.parametrize(
    ("check", "kind", "fragment"),
    [
        ("{name: c, path: /status/503}", FailureKind.wrong_status, "expected status 200, got 503"),
        (
            "{name: c, path: /status/404, expect: {status: [200, 201]}}",
            FailureKind.wrong_status,
            "200 or 201",
        ),
        ("{name: c, path: /ok, expect: {status: 401}}", FailureKind.wrong_status, "got 200"),
        (
            "{name: c, path: /html, expect: {content_type: application/json}}",
            FailureKind.content_type,
            "got text/html",
        ),
        (
            "{name: c, path: /json/bad, expect: {json: [{path: status, exists: true}]}}",
            FailureKind.invalid_json,
            "not valid JSON",
        ),
        (
            "{name: c, path: /ok, expect: {json: [{path: status, equals: broken}]}}",
            FailureKind.assertion_failed,
            'status: expected "broken", got "healthy"',
        ),
        ('{name: c, path: "/slow?s=5", timeout: 300ms}', FailureKind.timeout, "within 0.3s"),
        ("{name: c, path: /hang, timeout: 300ms}", FailureKind.timeout, "within 0.3s"),
        ("{name: c, path: /close}", FailureKind.connection_closed, "closed the connection"),
        ("{name: c, path: /loop}", FailureKind.redirect_loop, "more than 10 redirects"),
    ],
)
async def test_each_failure_kind_is_named(
    server: MisbehavingServer, check: str, kind: FailureKind, fragment: str
) -> None:
    report = await run_one(server.url, check)
    outcome, got_kind, message = only_result(report)
    assert (outcome, got_kind) == (Outcome.failed, kind), message
    assert fragment in message
    assert not report.passed
    assert report.failures[0].check == "g/c" and report.failures[0].kind is kind


async def test_a_redirect_is_followed_unless_declared_otherwise(server: MisbehavingServer) -> None:
    followed = await run_one(server.url, "{name: c, path: /loop, expect: {status: 302}}")
    assert only_result(followed)[1] is FailureKind.redirect_loop
    not_followed = await run_one(
        server.url, "{name: c, path: /loop, follow_redirects: false, expect: {status: 302}}"
    )
    assert only_result(not_followed)[0] is Outcome.passed


async def test_connection_refused(closed_port: int) -> None:
    report = await run_one(f"http://127.0.0.1:{closed_port}", "{name: c, path: /ok}")
    outcome, kind, message = only_result(report)
    assert (outcome, kind) == (Outcome.failed, FailureKind.connection_refused)
    assert f"127.0.0.1:{closed_port}" in message


async def test_dns_failure() -> None:
    report = await run_one("http://keel-smoke-check.invalid", "{name: c, path: /ok}")
    outcome, kind, message = only_result(report)
    assert (outcome, kind) == (Outcome.failed, FailureKind.dns_failure)
    assert "keel-smoke-check.invalid" in message


async def test_tls_to_a_plain_http_port(server: MisbehavingServer) -> None:
    report = await run_one(f"https://127.0.0.1:{server.port}", "{name: c, path: /ok}")
    assert only_result(report)[:2] == (Outcome.failed, FailureKind.tls_error)


@pytest.fixture
async def self_signed(tmp_path: Path) -> AsyncIterator[int]:
    """An HTTPS server whose certificate nobody trusts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    srv = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


async def test_tls_with_an_untrusted_certificate(self_signed: int) -> None:
    report = await run_one(f"https://127.0.0.1:{self_signed}", "{name: c, path: /ok}")
    outcome, kind, message = only_result(report)
    assert (outcome, kind) == (Outcome.failed, FailureKind.tls_error)
    assert "not trusted" in message


async def test_checks_run_concurrently_within_the_deadline(server: MisbehavingServer) -> None:
    checks = "".join(f'      - {{name: s{i}, path: "/slow?s=1"}}\n' for i in range(6))
    suite = parse_suite(f"concurrency: 6\ngroups:\n  g:\n    checks:\n{checks}")
    report = await run_suite(suite, server.url)
    assert report.passed
    # Six 1 s requests one after another would take 6 s; at once about 1 s (slack for a loaded machine).
    assert report.duration_s < 4.0


async def test_the_deadline_stops_the_run_and_fails_what_is_unfinished(server: MisbehavingServer) -> None:
    suite = parse_suite(
        "defaults: {timeout: 30s}\n"
        "groups:\n  fast:\n    checks: [{name: ok, path: /ok}]\n"
        "  slow:\n    checks: [{name: hang, path: /hang}]\n"
    )
    report = await run_suite(suite, server.url, deadline_s=0.5)
    by_name = {c.check: c for c in report.checks}
    assert by_name["fast/ok"].outcome is Outcome.passed
    assert (by_name["slow/hang"].outcome, by_name["slow/hang"].kind) == (Outcome.failed, FailureKind.deadline)
    assert report.duration_s < 5
    assert report.notes


async def test_retries_only_where_declared(server: MisbehavingServer) -> None:
    sleeps: list[float] = []

    async def sleeper(seconds: float) -> None:
        sleeps.append(seconds)

    server.flaky_failures = 2
    once = await run_one(server.url, "{name: c, path: /flaky}", sleeper=sleeper)
    assert only_result(once)[1] is FailureKind.wrong_status
    assert once.checks[0].attempts == 1 and sleeps == []

    server.flaky_failures = 2
    retried = await run_one(
        server.url, "{name: c, path: /flaky, retries: {attempts: 3, delay: 2s}}", sleeper=sleeper
    )
    assert only_result(retried)[0] is Outcome.passed
    assert retried.checks[0].attempts == 3 and sleeps == [2.0, 2.0]

    server.flaky_failures = 5
    exhausted = await run_one(server.url, "{name: c, path: /flaky, retries: {attempts: 2}}", sleeper=sleeper)
    assert only_result(exhausted)[1] is FailureKind.wrong_status
    assert "after 2 attempts" in exhausted.checks[0].message


AUTH_SUITE = """
name: flows
variables:
  user: "smoke-${run_id}"
  password: {value: "${env.SMOKE_PASSWORD}", secret: true}
auth:
  steps:
    - name: login
      method: POST
      path: /login
      json: {user: "${user}", password: "${password}"}
      expect: {json: [{path: user, equals: "${user}"}]}
      capture: {token: access_token}
  headers: {Authorization: "Bearer ${token}"}
groups:
  barrier:
    checks:
      - {name: me-without-token, path: /me, expect: {status: 401}}
  signed-in:
    sequential: true
    checks:
      - name: me
        path: /me
        auth: true
        expect: {json: [{path: token_echo, equals: "not the token"}]}
      - name: add
        method: POST
        path: /things
        auth: true
        json: {name: "${user}"}
        expect: {status: 201}
        capture: {thing: id}
      - {name: remove, method: DELETE, path: "/things/${thing}", auth: true, expect: {status: 204}}
  flow:
    sequential: true
    checks:
      - {name: add, method: POST, path: /things, auth: true, json: {name: x}, expect: {status: 201}, capture: {thing: id}}
      - {name: remove, method: DELETE, path: "/things/${thing}", auth: true, expect: {status: 204}}
      - {name: list, path: /things, auth: true, expect: {json: [{path: items, type: array}]}}
cleanup:
  - {name: tidy, method: DELETE, path: /things/42, auth: true, expect: {status: 204}}
"""


async def test_auth_flow_captures_and_redacts(server: MisbehavingServer) -> None:
    report = await run_suite(
        parse_suite(AUTH_SUITE), server.url, environ={"SMOKE_PASSWORD": PASSWORD}, rng=random.Random(7)
    )
    by_name = {c.check: c for c in report.checks}
    assert by_name["auth/login"].outcome is Outcome.passed
    assert by_name["barrier/me-without-token"].outcome is Outcome.passed
    assert by_name["flow/add"].outcome is Outcome.passed
    assert by_name["flow/remove"].path == "/things/42"  # the captured id was substituted
    assert by_name["flow/list"].outcome is Outcome.passed
    assert by_name["cleanup/tidy"].outcome is Outcome.passed
    # A failing step stops its flow; the rest is skipped, not silently passed.
    me = by_name["signed-in/me"]
    assert me.kind is FailureKind.assertion_failed
    assert by_name["signed-in/add"].outcome is Outcome.skipped
    assert by_name["signed-in/remove"].outcome is Outcome.skipped
    # The token reached the server but never the report.
    tokens = server.tokens
    assert len(tokens) == 1
    text = json.dumps(report.to_json())
    assert "***" in me.message
    for secret in (*tokens, PASSWORD):
        assert secret not in text
    # The login really sent the user built from the run id.
    login = next(r for r in server.seen if r.path == "/login")
    assert login.json()["user"].startswith("smoke-") and login.json()["password"] == PASSWORD


async def test_a_failed_auth_step_skips_the_checks_that_need_it(server: MisbehavingServer) -> None:
    report = await run_suite(
        parse_suite(AUTH_SUITE), server.url, environ={"SMOKE_PASSWORD": "wrong-password"}
    )
    by_name = {c.check: c for c in report.checks}
    assert by_name["auth/login"].kind is FailureKind.wrong_status
    assert by_name["barrier/me-without-token"].outcome is Outcome.passed
    for name in ("signed-in/me", "flow/add", "cleanup/tidy"):
        assert by_name[name].outcome is Outcome.skipped, name
    assert not report.passed
    assert "wrong-password" not in json.dumps(report.to_json())


async def test_a_missing_environment_variable_is_a_configuration_error(server: MisbehavingServer) -> None:
    with pytest.raises(ConfigError, match="SMOKE_PASSWORD"):
        await run_suite(parse_suite(AUTH_SUITE), server.url, environ={})
    assert server.seen == []  # nothing was sent


async def test_group_selection(server: MisbehavingServer) -> None:
    suite = parse_suite(AUTH_SUITE)
    report = await run_suite(suite, server.url, groups=["barrier"], environ={"SMOKE_PASSWORD": PASSWORD})
    assert {c.group for c in report.checks} == {"barrier"}
    assert report.passed
    with pytest.raises(ConfigError, match="no group nope"):
        await run_suite(suite, server.url, groups=["nope"], environ={"SMOKE_PASSWORD": PASSWORD})


async def test_the_auth_step_runs_only_when_a_selected_check_needs_it(server: MisbehavingServer) -> None:
    # Cleanup needs auth only to undo what the auth step made (the throw-away user): no sign-in, no
    # clean-up of it. A clean-up step without auth still runs.
    text = AUTH_SUITE + "  - {name: tidy-public, path: /ok}\n"
    suite = parse_suite(text)
    environ = {"SMOKE_PASSWORD": PASSWORD}
    report = await run_suite(suite, server.url, groups=["barrier"], environ=environ)
    assert [c.check for c in report.checks] == ["barrier/me-without-token", "cleanup/tidy-public"]
    assert [(r.method, r.path) for r in server.seen] == [("GET", "/me"), ("GET", "/ok")]
    assert server.tokens == set()

    server.seen.clear()
    signed_in = await run_suite(suite, server.url, groups=["flow"], environ=environ)
    assert signed_in.passed
    assert [c.check for c in signed_in.checks] == [
        "auth/login",
        "flow/add",
        "flow/remove",
        "flow/list",
        "cleanup/tidy",
        "cleanup/tidy-public",
    ]
    assert ("POST", "/login") in [(r.method, r.path) for r in server.seen]

    # A latency check that needs auth is a selected check too, unless --no-latency leaves it out.
    latency = text + "latency:\n  checks: [{name: mine, path: /me, auth: true, max: 5s, samples: 5}]\n"
    with_latency = parse_suite(latency)
    server.seen.clear()
    measured = await run_suite(with_latency, server.url, groups=["barrier"], environ=environ)
    assert measured.passed and "auth/login" in [c.check for c in measured.checks]
    server.seen.clear()
    await run_suite(with_latency, server.url, include_latency=False, groups=["barrier"], environ=environ)
    assert "/login" not in [r.path for r in server.seen]


@pytest.mark.parametrize("url", ["ftp://example.com", "not a url", "http://"])
async def test_bad_base_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        await run_one(url, "{name: c, path: /ok}")


async def test_base_url_prefix_and_credentials(server: MisbehavingServer) -> None:
    report = await run_one(f"http://user:hunter22@127.0.0.1:{server.port}/", "{name: c, path: /ok}")
    assert report.passed
    assert "hunter22" not in json.dumps(report.to_json())
    prefixed = await run_one(f"{server.url}/status", "{name: c, path: /404, expect: {status: 404}}")
    assert prefixed.passed


async def test_a_suite_that_checks_nothing_does_not_pass(server: MisbehavingServer) -> None:
    report = await run_suite(parse_suite("groups:\n  g:\n    checks: [{name: c, path: /ok}]\n"), server.url)
    assert report.passed
    empty = SmokeReport("s", server.url, "now", 0.0)
    assert not empty.passed


async def test_an_always_step_runs_after_a_failure_and_is_skipped_if_it_lacks_a_value(
    server: MisbehavingServer,
) -> None:
    suite = parse_suite(
        "groups:\n  g:\n    sequential: true\n    checks:\n"
        "      - {name: first, path: /status/500, capture: {id: id}}\n"
        "      - {name: second, path: /ok}\n"
        "      - {name: tidy, path: /ok, always: true}\n"
        "      - {name: tidy-id, path: '/things/${id}', always: true}\n"
    )
    report = await run_suite(suite, server.url)
    outcomes = {c.name: (c.outcome, c.message) for c in report.checks}
    assert outcomes["first"][0] is Outcome.failed
    assert outcomes["second"] == (Outcome.skipped, "skipped: earlier step 'first' failed")
    assert outcomes["tidy"][0] is Outcome.passed
    assert outcomes["tidy-id"][0] is Outcome.skipped and "variable id has no value" in outcomes["tidy-id"][1]


@pytest.mark.parametrize(
    ("passing", "failing", "fragment"),
    [
        ("{path: status, equals: healthy}", "{path: status, equals: degraded}", 'expected "degraded"'),
        ("{path: name, exists: true}", "{path: missing, exists: true}", "expected to exist"),
        ("{path: items, type: array}", "{path: items, type: object}", "expected type object, got array"),
        ("{path: items, min_length: 3}", "{path: items, min_length: 4}", "expected length >= 4, got 3"),
        ("{path: items, max_length: 3}", "{path: items, max_length: 2}", "expected length <= 2, got 3"),
        (
            r"{path: version, matches: '^\d+\.\d+\.\d+$'}",
            "{path: version, matches: '^v'}",
            "expected to match",
        ),
        (
            "{path: 'items[0]', has_keys: [id, title]}",
            "{path: 'items[0]', has_keys: [poster]}",
            "missing keys",
        ),
        (
            "{path: items, each: {path: type, equals: movie}}",
            "{path: items, each: {path: id, type: string}}",
            "item [0] id: expected type string",
        ),
    ],
)
async def test_every_assertion_type_against_the_server(
    server: MisbehavingServer, passing: str, failing: str, fragment: str
) -> None:
    good = await run_one(server.url, f"{{name: c, path: /ok, expect: {{json: [{passing}]}}}}")
    assert only_result(good)[0] is Outcome.passed, only_result(good)
    bad = await run_one(server.url, f"{{name: c, path: /ok, expect: {{json: [{failing}]}}}}")
    outcome, kind, message = only_result(bad)
    assert (outcome, kind) == (Outcome.failed, FailureKind.assertion_failed)
    assert fragment in message
