"""A planted secret value never appears in logs, exception text, the store, the rotation's records or the
commands' output, whatever happens to the rotation."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from keel.platforms.base import PlatformError
from keel.secrets.errors import SecretsError
from keel.secrets.report import RotationReport
from keel.secrets.values import scrub
from tests.keel.secrets.rig import FIRST_KEY, RotationRig

PLANTED = "sk-planted-leak-check-5f1e0c9a7b3d"
DB_URL = "postgresql+asyncpg://app:planted-db-password-77aa@127.0.0.1:5432/bayit"


class Echo(SecretsError):
    pass


@pytest.mark.parametrize(
    "fault",
    [
        None,
        (
            "deploy",
            PlatformError(f"image refused: env OPENAI_API_KEY={PLANTED}"),
        ),  # a platform echoing the env
        ("verify", Echo(f"deep health said: key {PLANTED} invalid")),
        ("set_alias:current", Echo(f"backend error near {PLANTED}")),
    ],
)
def test_a_planted_value_is_in_no_record_log_or_report(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: tuple[str, Exception] | None
) -> None:
    caplog.set_level(logging.DEBUG)
    rig = RotationRig(tmp_path)
    rig.serve_first_revision(jwt=FIRST_KEY, openai="sk-old-key-000000000", database=DB_URL)
    if fault is not None:
        rig.faults.at[fault[0]] = fault[1]
    rotator = rig.rotator()
    final = asyncio.run(rotator.run(rotator.begin("openai", PLANTED)))
    report = RotationReport(final, tuple(rig.rotator().records.steps(final.id)))
    texts = [caplog.text, repr(final), str(report.to_json()), report.to_markdown(), report.headline(),
             *(why for _, why in rig.steps)]  # fmt: skip
    assert not any(PLANTED in text for text in texts)
    if fault is not None:
        assert "***" in final.reason  # the echoed value was replaced, the rest of the message kept
    rig.store.close()
    data = b"".join(p.read_bytes() for p in tmp_path.glob("keel.db*"))
    assert PLANTED.encode() not in data and b"planted-db-password" not in data


def test_database_passwords_are_scrubbed_in_every_form() -> None:
    text = "could not connect to postgresql://app_x:p%40ss%2Fw0rd-long@db/x (password p@ss/w0rd-long)"
    assert "p@ss/w0rd-long" not in scrub(text, ["p@ss/w0rd-long"])
    assert "p%40ss%2Fw0rd-long" not in scrub(text, ["p@ss/w0rd-long"])


def test_a_resumed_rotation_scrubs_values_it_did_not_read_itself(tmp_path: Path) -> None:
    from tests.keel.secrets.rig import Killed

    rig = RotationRig(tmp_path)
    rig.serve_first_revision(jwt=FIRST_KEY, openai="sk-old-key-000000000", database=DB_URL)
    rig.faults.at["verify"] = Killed("verify")
    rotator = rig.rotator()
    with pytest.raises(Killed):
        asyncio.run(rotator.run(rotator.begin("openai", PLANTED)))
    rig.faults.at["verify"] = Echo(f"the provider rejected {PLANTED}")
    resumed = rig.rotator()  # a new process: it never saw the value
    final = asyncio.run(resumed.run(resumed.active("openai")))
    assert PLANTED not in final.reason and "***" in final.reason


def test_cloud_run_revisions_get_version_references_never_values() -> None:
    """On Cloud Run keel hands the platform references to versions (pinned numbers, qualified by the Secret
    Manager project when it is not the service's), whatever the revision's own env asks for."""
    from keel.platforms.base import Revision, RevisionSpec
    from keel.platforms.memory import MemoryPlatform
    from keel.secrets.backends.base import CURRENT, PREVIOUS
    from keel.secrets.backends.memory import MemoryBackend
    from keel.secrets.config import GcpBackendConfig, SecretItem, SecretsSpec, SecretType
    from keel.secrets.delivery import SecretRefsPlatform

    class Recording(MemoryPlatform):
        envs: list[dict[str, str]] = []

        async def deploy(self, spec: RevisionSpec) -> Revision:
            self.envs.append(dict(spec.env))
            return await super().deploy(spec)

    backend = MemoryBackend()
    for value in ("first-key-" + PLANTED, "second-key-" + PLANTED):
        backend.add_version("bayit-secret-key", value)
    backend.add_version("openai", PLANTED)
    backend.set_alias("bayit-secret-key", CURRENT, 2)
    backend.set_alias("bayit-secret-key", PREVIOUS, 1)
    backend.set_alias("openai", CURRENT, 1)
    spec = SecretsSpec(
        backend=GcpBackendConfig(type="gcp", project="bayit-secrets"),
        items={"jwt": SecretItem(type=SecretType.JWT, id="bayit-secret-key", env="SECRET_KEY",
                                 previous_env="SECRET_KEY_OLD"),
               "openai": SecretItem(type=SecretType.OPENAI, env="OPENAI_API_KEY")},
    )  # fmt: skip
    inner = Recording()
    platform = SecretRefsPlatform(
        inner, spec, backend, secret_project="bayit-secrets", platform_project="bayit-plus"
    )
    asyncio.run(
        platform.deploy(RevisionSpec("svc-00001-aaa", {"OPENAI_API_KEY": "keel-secret:openai:1", "X": "1"}))
    )
    assert inner.envs == [{
        "SECRET_KEY": "keel-secret:projects/bayit-secrets/secrets/bayit-secret-key:2",
        "SECRET_KEY_OLD": "keel-secret:projects/bayit-secrets/secrets/bayit-secret-key:1",
        "OPENAI_API_KEY": "keel-secret:projects/bayit-secrets/secrets/openai:1",
        "X": "1",
    }]  # fmt: skip
    assert PLANTED not in repr(inner.envs)
