"""Rotations per secret type on the memory platform through the real release API: the happy paths, a failure
injected at every step (rolled back, nothing half-rotated), a kill at every step (resumed), JWT sessions kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keel.platforms.base import PlatformError
from keel.secrets.backends.base import CURRENT, PREVIOUS, VersionState
from keel.secrets.errors import RotationRefused, SecretsError
from keel.secrets.state import RotationPhase
from tests.keel.secrets.rig import FIRST_KEY, OLD, Killed, RotationRig

DB_URL = "postgresql+asyncpg://app:first-db-password-0123@127.0.0.1:5432/bayit"
OPENAI_OLD = "sk-old-openai-key-0123456789"
OPENAI_NEW = "sk-new-openai-key-planted-9876543210"


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture
def rig(tmp_path: Path) -> RotationRig:
    r = RotationRig(tmp_path)
    r.serve_first_revision(jwt=FIRST_KEY, database=DB_URL, openai=OPENAI_OLD)
    return r


def rotate(rig: RotationRig, name: str, value: str | None = None) -> RotationPhase:
    rotator = rig.rotator()
    rotation = rotator.begin(name, value)
    return asyncio.run(rotator.run(rotation)).phase


def resume(rig: RotationRig, name: str) -> RotationPhase:
    rotator = rig.rotator()
    return asyncio.run(rotator.run(rotator.active(name))).phase


def store_bytes(rig: RotationRig) -> bytes:
    rig.store.close()
    data = b"".join(p.read_bytes() for p in rig.tmp.glob("keel.db*"))
    from keel.store import Store

    rig.store = Store(rig.tmp / "keel.db")
    return data


# --- happy paths ------------------------------------------------------------------------------------------------


def test_jwt_rotation_keeps_every_session_then_retires_the_old_key(rig: RotationRig) -> None:
    before = [rig.sign_in(user) for user in range(1, 4)]
    assert rotate(rig, "jwt") is RotationPhase.GRACE
    serving = rig.serving()
    assert serving != OLD
    env = rig.platform.envs[serving]
    assert env["SECRET_KEY_OLD"] == FIRST_KEY and env["SECRET_KEY"] not in (FIRST_KEY, "")
    assert all(rig.valid(token) for token in before), "a user was logged out by the rotation"
    after = rig.sign_in(9)
    assert rig.valid(after)
    info = rig.file_backend.describe("jwt")
    assert info is not None and info.aliases[CURRENT] == 2 and info.aliases[PREVIOUS] == 1
    # any release during the grace window keeps both keys (the platform delivers the previous version too)
    assert resume(rig, "jwt") is RotationPhase.GRACE
    # after the grace window the old key is retired: a release verifies with the new key only
    rig.clock.now += 3601
    assert resume(rig, "jwt") is RotationPhase.DONE
    retired = rig.serving()
    assert retired != serving and rig.platform.envs[retired].get("SECRET_KEY_OLD") == ""
    assert rig.valid(after) and not any(rig.valid(token) for token in before)
    assert rig.file_backend.describe("jwt").version(1).state is VersionState.DISABLED  # type: ignore[union-attr]
    rig.assert_settled("jwt")
    data = store_bytes(rig)
    assert FIRST_KEY.encode() not in data and env["SECRET_KEY"].encode() not in data
    phases = [phase for phase, _ in rig.steps]
    assert phases == [
        "creating",
        "deploying",
        "verifying",
        "finishing",
        "revoking",
        "grace",
        "retiring",
        "done",
    ]


def test_an_api_key_is_stored_released_verified_and_the_old_one_disabled(rig: RotationRig) -> None:
    assert rotate(rig, "openai", OPENAI_NEW) is RotationPhase.DONE
    assert rig.platform.envs[rig.serving()]["OPENAI_API_KEY"] == OPENAI_NEW
    rotation = rig.rotation("openai")
    assert any("platform.openai.com/api-keys" in note for note in rotation.notes)
    old = rig.file_backend.describe("openai").version(1)  # type: ignore[union-attr]
    assert old is not None and old.state is VersionState.DISABLED
    rig.assert_settled("openai")
    assert OPENAI_NEW.encode() not in store_bytes(rig)


def test_a_database_rotation_creates_a_role_releases_then_revokes_the_old_one(rig: RotationRig) -> None:
    assert rotate(rig, "database") is RotationPhase.DONE
    url = rig.platform.envs[rig.serving()]["DATABASE_URL"]
    rotation = rig.rotation("database")
    assert rotation.new_role is not None and url.startswith(f"postgresql+asyncpg://{rotation.new_role}:")
    assert rig.credentials.roles == {rotation.new_role: url.split(":")[2].split("@")[0]}
    assert rig.credentials.revoked == {"app"}
    rig.assert_settled("database")


def test_provided_values_come_from_the_operator_and_generated_ones_from_keel(rig: RotationRig) -> None:
    rotator = rig.rotator()
    with pytest.raises(RotationRefused, match="stdin"):
        rotator.begin("openai")
    with pytest.raises(RotationRefused, match="keel makes"):
        rotator.begin("jwt", "chosen")
    with pytest.raises(RotationRefused, match="no secret 'nope'"):
        rotator.begin("nope")
    rotator.begin("openai", OPENAI_NEW)
    with pytest.raises(RotationRefused, match="--resume"):
        rig.rotator().begin("openai", OPENAI_NEW)


# --- a failure at every step rolls back -------------------------------------------------------------------------

FAILURES = {
    "store the new version": ("add_version", SecretsError("backend unavailable")),
    "label it pending": ("set_alias:pending", SecretsError("backend unavailable")),
    "create the login role": ("create_role", SecretsError("PostgreSQL: permission denied")),
    "platform refuses the revision": ("deploy", PlatformError("quota exceeded")),
    "verify": ("verify", SecretsError("deep health unreachable")),
    "label it current": ("set_alias:current", SecretsError("backend unavailable")),
    "label the old previous": ("set_alias:previous", SecretsError("backend unavailable")),
}


SECRETS = ("jwt", "database", "openai")
ROLE_STEPS = ("create_role", "revoke_role")  # only database secrets have login roles


@pytest.mark.parametrize(
    ("secret", "step"),
    [
        (s, step)
        for step in sorted(FAILURES)
        for s in SECRETS
        if s == "database" or FAILURES[step][0] not in ROLE_STEPS
    ],
)
def test_a_failure_at_any_step_rolls_back_to_the_old_secret(rig: RotationRig, secret: str, step: str) -> None:
    point, error = FAILURES[step]
    sessions = [rig.sign_in(user) for user in range(1, 4)]
    old_value = rig.file_backend.access(secret, CURRENT)
    rig.faults.at[point] = error
    assert rotate(rig, secret, OPENAI_NEW if secret == "openai" else None) is RotationPhase.ROLLED_BACK
    assert point not in rig.faults.at, "the fault was never reached"
    rotation = rig.rotation(secret)
    assert rotation.failed_step is not None and str(error) in rotation.reason
    assert rig.file_backend.access(secret, CURRENT) == old_value
    assert (
        rig.serving() == OLD
        or rig.platform.envs[rig.serving()][rig.spec.secrets.items[secret].env] == old_value
    )
    rig.assert_settled(secret)
    assert all(rig.valid(token) for token in sessions)
    assert rig.credentials.roles == {}  # a role made for the rotation is dropped


def test_an_unhealthy_release_is_rolled_back_by_the_gate_and_the_rotation_with_it(rig: RotationRig) -> None:
    rig.platform.unready_without = "NEVER_SET"  # every new revision fails its health gate
    assert rotate(rig, "jwt") is RotationPhase.ROLLED_BACK
    assert "did not go through" in rig.rotation("jwt").reason
    assert rig.serving() == OLD
    rig.assert_settled("jwt")


def test_a_failed_deep_health_after_the_release_puts_the_old_revision_back(rig: RotationRig) -> None:
    sessions = [rig.sign_in(1)]
    rig.verifier.healthy = False
    assert rotate(rig, "jwt") is RotationPhase.ROLLED_BACK
    assert rig.serving() == OLD and all(rig.valid(t) for t in sessions)
    rig.assert_settled("jwt")


# --- once the new secret serves, later steps are retried, never undone ---------------------------------------------


def test_a_failed_revoke_is_retried_not_rolled_back(rig: RotationRig) -> None:
    rig.faults.at["revoke_role"] = SecretsError("PostgreSQL: connection refused")
    assert rotate(rig, "database") is RotationPhase.REVOKING
    rotation = rig.rotation("database")
    assert rotation.failed_step == "revoking" and "connection refused" in rotation.reason
    assert rig.credentials.revoked == set()
    assert resume(rig, "database") is RotationPhase.DONE
    assert rig.credentials.revoked == {"app"}
    rig.assert_settled("database")


def test_a_failed_retirement_keeps_the_old_key_in_its_grace_window(rig: RotationRig) -> None:
    sessions = [rig.sign_in(1)]
    assert rotate(rig, "jwt") is RotationPhase.GRACE
    rig.clock.now += 3601
    rig.verifier.healthy = False
    assert resume(rig, "jwt") is RotationPhase.GRACE
    assert all(rig.valid(t) for t in sessions)
    assert rig.file_backend.describe("jwt").version(1).state is VersionState.ENABLED  # type: ignore[union-attr]
    rig.verifier.healthy = True
    assert resume(rig, "jwt") is RotationPhase.DONE


def test_a_rollback_that_stops_is_resumed(rig: RotationRig) -> None:
    rig.faults.at["verify"] = SecretsError("unhealthy")
    rig.faults.at["drop_role"] = SecretsError("PostgreSQL: connection refused")
    with pytest.raises(SecretsError, match="--resume"):
        rotate(rig, "database")
    assert rig.rotation("database").phase is RotationPhase.ROLLING_BACK
    assert resume(rig, "database") is RotationPhase.ROLLED_BACK
    rig.assert_settled("database")
    assert rig.credentials.roles == {}


# --- a kill at every step, then --resume --------------------------------------------------------------------------

KILL_POINTS = [
    "add_version", "after_set_alias:pending", "create_role", "deploy", "verify", "set_alias:current",
    "after_set_alias:current", "after_set_alias:pending#2", "revoke_role", "set_state:disabled",
]  # fmt: skip


@pytest.mark.parametrize(
    ("secret", "point"),
    [(s, point) for point in KILL_POINTS for s in SECRETS if s == "database" or point not in ROLE_STEPS],
)
def test_a_kill_at_any_step_is_resumed_to_the_end(rig: RotationRig, secret: str, point: str) -> None:
    sessions = [rig.sign_in(user) for user in range(1, 4)]
    name, _, nth = point.partition("#")
    rig.faults.at[name] = Killed(point)
    rig.faults.skip[name] = int(nth or 1) - 1  # "#2": the second call (the pending label removed at the end)
    grace_checked = False

    def check_sessions() -> None:
        nonlocal grace_checked
        if rig.rotation(secret).phase is RotationPhase.GRACE:
            assert all(rig.valid(t) for t in sessions), "a user was logged out"
            grace_checked = True
            rig.clock.now += 3601  # the grace window passes

    try:
        rotate(rig, secret, OPENAI_NEW if secret == "openai" else None)
        check_sessions()
        resume(rig, secret)  # the old JWT key's version is disabled as it retires
    except (Killed, RotationRefused):
        pass
    assert name not in rig.faults.at, "the kill point was never reached"
    for _ in range(3):  # keel secrets rotate NAME --resume until it ends
        check_sessions()
        if rig.rotation(secret).phase.terminal:
            break
        resume(rig, secret)
    final = rig.rotation(secret).phase
    if secret == "openai" and point == "add_version":
        # the operator's value was never stored: only they have it, so the rotation rolls back cleanly
        assert final is RotationPhase.ROLLED_BACK
    else:
        assert final is RotationPhase.DONE
    assert grace_checked or secret != "jwt"
    rig.assert_settled(secret)
    assert all(rig.valid(t) for t in sessions) or secret == "jwt"  # JWT: the retired key's tokens had expired


def test_a_leaked_jwt_key_is_retired_at_once(rig: RotationRig) -> None:
    sessions = [rig.sign_in(1)]
    rotator = rig.rotator()
    final = asyncio.run(rotator.run(rotator.begin("jwt", grace=0.0)))
    assert final.phase is RotationPhase.DONE
    assert not any(rig.valid(t) for t in sessions)  # every session signed with the leaked key ends
    assert rig.valid(rig.sign_in(2))
    rig.assert_settled("jwt")


def test_a_rotation_on_secret_manager(tmp_path: Path) -> None:
    """The same procedure with Google Secret Manager (the official client against the local server) holding
    the versions and their aliases."""
    pytest.importorskip("google.cloud.secretmanager_v1")
    from keel.emulators.secretmanager.server import running
    from keel.secrets.backends.gcp import EMULATOR_HOST_ENV, SecretManagerBackend
    from keel.secrets.config import GcpBackendConfig

    with running() as host:
        backend = SecretManagerBackend.from_config(
            GcpBackendConfig(type="gcp", project="bayit-plus"), {EMULATOR_HOST_ENV: host}
        )
        rig = RotationRig(tmp_path)
        rig.file_backend = backend  # type: ignore[assignment]
        rig.backend.inner = backend
        rig.serve_first_revision(jwt=FIRST_KEY, openai=OPENAI_OLD, database=DB_URL)
        sessions = [rig.sign_in(1)]
        assert rotate(rig, "jwt") is RotationPhase.GRACE
        assert all(rig.valid(t) for t in sessions)
        rig.faults.at["verify"] = SecretsError("unhealthy")
        assert rotate(rig, "openai", OPENAI_NEW) is RotationPhase.ROLLED_BACK
        rig.assert_settled("openai")
        assert rotate(rig, "openai", OPENAI_NEW) is RotationPhase.DONE
        info = backend.describe("openai")
        assert info is not None and dict(info.aliases) == {CURRENT: 3, PREVIOUS: 1}
        assert [v.state for v in info.versions] == [
            VersionState.DISABLED,
            VersionState.DESTROYED,
            VersionState.ENABLED,
        ]
        rig.assert_settled("openai")


@pytest.mark.parametrize("point", ["deploy", "verify", "set_alias:current"])
def test_a_killed_rotation_can_be_aborted_instead(rig: RotationRig, point: str) -> None:
    sessions = [rig.sign_in(1)]
    rig.faults.at[point] = Killed(point)
    with pytest.raises(Killed):
        rotate(rig, "jwt")
    rotator = rig.rotator()
    final = asyncio.run(rotator.rollback(rotator.active("jwt"), "aborted by the operator"))
    assert final.phase is RotationPhase.ROLLED_BACK and final.reason == "aborted by the operator"
    assert rig.serving() == OLD and dict(rig.memory._weights) == {OLD: 100}
    assert rig.store.active_rollout("test") is None  # the interrupted release was aborted too
    rig.assert_settled("jwt")
    assert all(rig.valid(t) for t in sessions)


def test_a_rotation_whose_new_version_serves_cannot_be_aborted(rig: RotationRig) -> None:
    rig.faults.at["revoke_role"] = SecretsError("PostgreSQL: connection refused")
    assert rotate(rig, "database") is RotationPhase.REVOKING
    rotator = rig.rotator()
    with pytest.raises(RotationRefused, match="already in service"):
        asyncio.run(rotator.rollback(rotator.active("database"), "abort"))


def test_a_release_held_by_someone_else_rolls_the_rotation_back_and_leaves_theirs_alone(
    rig: RotationRig,
) -> None:
    from keel.rollout.guards import EnvironmentLock, Owner

    other = EnvironmentLock(rig.store, "test", Owner("deployer-1", "elsewhere", 1), rig.clock)
    other.acquire()
    assert rotate(rig, "jwt") is RotationPhase.ROLLED_BACK
    assert "held" in rig.rotation("jwt").reason.lower() or "lock" in rig.rotation("jwt").reason.lower()
    assert rig.store.lock("test") is not None  # their lock (and release) untouched
    rig.assert_settled("jwt")
