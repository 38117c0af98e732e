"""Start real service processes for tests and wait for them, with generous limits for a loaded machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def wait_http(url: str, timeout: float = 30.0, expect: int | None = 200) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=2.0)
            if expect is None or r.status_code == expect:
                return r
            last = r.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} not answering {expect} after {timeout}s (last: {last!r})")


def start_bayit(
    port: int, env: Mapping[str, str], *args: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "ENVIRONMENT"))}
    full_env.update({"PORT": str(port), **env})
    out = log.open("wb") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [str(BIN / "bayit"), "serve", *args], env=full_env, stdout=out, stderr=subprocess.STDOUT
    )
