"""``keel emulate cloudrun`` as users run it: prints where it listens, serves the API, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from tests.keel.cli.releases import KEEL


def test_the_emulator_serves_the_admin_api_and_stops_on_sigterm() -> None:
    command = [
        KEEL,
        "emulate",
        "cloudrun",
        "--image",
        f"app:1={sys.executable} -m http.server",
        "--port",
        "0",
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("CLOUD_RUN_EMULATOR_HOST=127.0.0.1:"), line
            host = line.partition("=")[2]
            answer = httpx.get(f"http://{host}/v2/projects/p/locations/r/services/missing")
            assert answer.status_code == 404 and answer.json()["error"]["status"] == "NOT_FOUND"
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
    assert code == 0


def test_a_bad_image_mapping_is_refused_with_exit_2() -> None:
    proc = subprocess.run([KEEL, "emulate", "cloudrun", "--image", "no-command"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 2
    assert "expected IMAGE=COMMAND" in proc.stderr
