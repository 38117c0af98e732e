"""keel review from the command line: the scored table, JSON (keel.review/v1) and Markdown, exit 1 while a P0
item is open and 2 on bad input, and the live health endpoints read with the token never shown."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.keel.cli.releases import keel

ROOT = Path(__file__).resolve().parents[3]
ORIGINAL = ROOT / "tests" / "testdata" / "review" / "original" / "keel.yaml"
TOKEN = "planted-health-token-7f3a9c"


def test_the_original_situation_exits_1_with_its_three_p0_items_in_every_format() -> None:
    table = keel("review", "-f", str(ORIGINAL), cwd=ROOT)
    assert table.returncode == 1, table.stderr
    assert "3 P0 open" in table.stdout and "probe timeouts set" in table.stdout
    doc = json.loads(keel("review", "-f", str(ORIGINAL), "--format", "json", cwd=ROOT).stdout)
    assert doc["schema"] == "keel.review/v1" and doc["open"]["P0"] == 3 and doc["passed"] is False
    failed = [i["id"] for i in doc["items"] if i["priority"] == "P0" and i["status"] == "fail"]
    assert failed == ["gcs-bucket", "staging-secrets", "probe-timeouts"]
    markdown = keel("review", "-f", str(ORIGINAL), "--format", "markdown", cwd=ROOT)
    assert markdown.returncode == 1
    assert markdown.stdout.startswith("## keel review: bayit-plus-backend:")
    assert "| P0 | ❌ fail | probe timeouts set |" in markdown.stdout


def test_this_repository_exits_0(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    proc = keel("review", "--format", "json", cwd=ROOT, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["open"]["P0"] == 0 and doc["passed"] is True
    assert "| P0 |" in summary.read_text()  # the Markdown also goes to the job summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "missing.yaml"], "missing.yaml"),
        (["--url", "ftp://x"], "--url"),
        (["--format", "yaml"], "yaml"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str) -> None:
    proc = keel("review", *args, cwd=ROOT)
    assert proc.returncode == 2 and message in proc.stderr and proc.stdout == ""


class Service(BaseHTTPRequestHandler):
    ready_status = 200

    def do_GET(self) -> None:
        if self.path == "/health/ready":
            code, body = self.ready_status, {"status": "healthy" if self.ready_status == 200 else "unhealthy"}
        elif self.path == "/health/deep" and self.headers.get("X-Health-Token") == TOKEN:
            code, body = 200, {"status": "healthy", "checks": {}}
        elif self.path == "/health/deep":
            code, body = 401, {"detail": "health token required"}
        else:
            code, body = 404, {}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[tuple[str, type[Service]]]:
    handler = type("Handler", (Service,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_live_health_with_the_token_passes_and_the_token_never_shows(
    service: tuple[str, type[Service]],
) -> None:
    url, _ = service
    for fmt in ("table", "json", "markdown"):
        proc = keel("review", "--url", url, "--format", fmt, cwd=ROOT, env={"KEEL_HEALTH_TOKEN": TOKEN})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert TOKEN not in proc.stdout + proc.stderr
    with_password = url.replace("http://", "http://ops:planted-url-password@")
    proc = keel("review", "--url", with_password, "--token", TOKEN, "--format", "json", cwd=ROOT)
    assert "planted-url-password" not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    items = {i["id"]: i for i in doc["items"]}
    assert items["live-ready"]["status"] == "pass" and items["live-deep"]["status"] == "pass"
    assert doc["url"] == url


def test_a_service_not_ready_is_an_open_p0(service: tuple[str, type[Service]]) -> None:
    url, handler = service
    handler.ready_status = 503
    proc = keel("review", "--url", url, "--format", "json", cwd=ROOT)
    assert proc.returncode == 1
    items = {i["id"]: i for i in json.loads(proc.stdout)["items"]}
    assert items["live-ready"]["status"] == "fail" and "HTTP 503" in items["live-ready"]["evidence"]
    assert items["live-deep"]["status"] == "warn"  # 401 without the token: asks for --token


def test_an_unreachable_service_is_reported_not_raised() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = keel("review", "--url", f"http://127.0.0.1:{port}", "--timeout", "2", "--format", "json", cwd=ROOT)
    assert proc.returncode == 1
    items = {i["id"]: i for i in json.loads(proc.stdout)["items"]}
    assert "no answer" in items["live-ready"]["evidence"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def bayit_staging(tmp_path: Path) -> Iterator[str]:
    """The real Bayit+ service as staging was: no AI provider keys and nothing declared absent."""
    import os
    import secrets
    import shutil
    import subprocess
    import time
    import urllib.request

    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "staging",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "HEALTH_CHECK_TOKEN": TOKEN,
        "HEALTH_OPTIONAL_UNCONFIGURED": "none",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}",
    }
    for name in (
        "OPENAI_API_KEY",
        "ELEVENLABS_API_KEY",
        "ANTHROPIC_API_KEY",
        "PINECONE_API_KEY",
        "SENTRY_DSN",
    ):
        env.pop(name, None)
    bayit = shutil.which("bayit")
    assert bayit, "the bayit distribution is not installed"
    proc = subprocess.Popen(
        [bayit, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/health/live", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "bayit did not start"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_the_real_service_as_staging_was_shows_its_missing_secrets(bayit_staging: str) -> None:
    proc = keel(
        "review", "--url", bayit_staging, "--format", "json", cwd=ROOT, env={"KEEL_HEALTH_TOKEN": TOKEN}
    )
    assert TOKEN not in proc.stdout + proc.stderr
    items = {i["id"]: i for i in json.loads(proc.stdout)["items"]}
    assert items["live-ready"]["status"] == "pass"  # optional dependencies do not fail readiness
    deep = items["live-deep"]
    assert deep["status"] == "warn"
    for name in ("openai", "elevenlabs", "anthropic", "pinecone"):
        assert f"{name} degraded" in deep["evidence"]
