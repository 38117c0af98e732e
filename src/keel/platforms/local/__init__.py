"""The local platform: revisions as supervised processes behind a weighted traffic router, run by a daemon.

Construct it from an environment of the spec::

    platform = LocalPlatform(
        service="bayit-plus-backend",
        env_name="local",
        command=["bayit", "serve"],
        port=8080,                    # the router's port: where user traffic arrives
        state_dir=Path(".keel/local"),
        env={"ENVIRONMENT": "development"},
    )
    revision = await platform.deploy(RevisionSpec("rev-2"))   # starts the daemon when it is not running
    await platform.set_traffic({"rev-1": 90, "rev-2": 10})
    source = platform.metric_source()                         # keel.analysis.base.MetricSource

The daemon outlives the process that started it (``keel up`` / ``keel down``); see ``client.py``.
"""

from __future__ import annotations

from keel.platforms.local.client import LocalPlatform
from keel.platforms.local.errors import DaemonNotRunning, LocalPlatformError

__all__ = ["DaemonNotRunning", "LocalPlatform", "LocalPlatformError"]
