"""One verifying TLS context for keel's short-lived HTTP clients (probes, smoke gates, metric sources).

httpx builds a context, loading the CA bundle, for every client it creates: 70-130 ms of CPU each time,
which on the event loop delays the rollout's timers (benchmarks/router/deploy_spike.py). Clients made per
probe or per look pass ``verify=tls_context()`` instead. An ``ssl.SSLContext`` may be shared across clients
and threads."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
