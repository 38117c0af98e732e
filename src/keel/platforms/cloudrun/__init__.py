"""Google Cloud Run (Admin API v2): settings model and the platform adapter (its client imported when used).

Importing this package is cheap: keel.yaml validation imports every platform's ``Config``; the official
client (``google-cloud-run``) is imported only by the adapter's calls.
"""

from __future__ import annotations

from keel.platforms.cloudrun.client import CloudRunError, CloudRunPlatform
from keel.platforms.cloudrun.config import CloudRunConfig

__all__ = ["CloudRunConfig", "CloudRunError", "CloudRunPlatform"]
