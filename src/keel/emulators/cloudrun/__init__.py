"""A local Cloud Run: the Admin API v2 (services, revisions, operations) backed by local processes and keel's
router, plus the Cloud Monitoring time series of those revisions. Reached as Google's emulators are:
``CLOUD_RUN_EMULATOR_HOST=127.0.0.1:PORT`` or ``api_endpoint`` in keel.yaml.

Needs the ``google-cloud-run`` client library (its messages are the wire format); imported when used.
"""

from __future__ import annotations

from keel.emulators.cloudrun.config import EmulatorConfig, load_config

__all__ = ["EmulatorConfig", "load_config"]
