"""The rollout record survives a round trip through JSON; revision names have Cloud Run's shape."""

from __future__ import annotations

import json
import random

from keel.analysis.base import Outcome, Verdict
from keel.rollout.phases import Cause, Kind, Phase
from keel.rollout.state import PlannedStep, Rollout, random_token, revision_name


def test_round_trip_through_json() -> None:
    r = Rollout(
        id="r-1", kind=Kind.DEPLOY, service="svc", environment="local", revision="svc-00001-abc",
        previous="svc-00000-old", phase=Phase.HOLDING, created=1.0, updated=2.0,
        steps=(PlannedStep(10, 60.0), PlannedStep(100, 0.0)), command=("bayit", "serve"),
        revision_env={"A": "1"}, last_verdict=Verdict(Outcome.PASS, (), "all metrics passed", "compare"),
            failed_by=Cause.ANALYSIS,
    )  # fmt: skip
    again = Rollout.from_json(json.loads(json.dumps(r.to_json())))
    assert again == r
    assert again.current_step == PlannedStep(10, 60.0)
    assert again.target == "svc-00000-old"


def test_unknown_keys_from_a_newer_record_are_ignored() -> None:
    data = Rollout("r", Kind.ROLLBACK, "s", "e", "t", "p", Phase.PENDING, 0, 0).to_json()
    data["added_later"] = 1
    assert Rollout.from_json(data).target == "t"


def test_revision_names_look_like_cloud_run() -> None:
    assert revision_name("bayit-plus-backend", 7, "x1z") == "bayit-plus-backend-00007-x1z"
    token = random_token(3, random.Random(1))
    assert len(token) == 3 and token.isalnum() and token.lower() == token
