"""The in-memory platform behaves like a real one: unique names, known revisions, no removal while serving."""

from __future__ import annotations

import pytest

from keel.platforms.base import PlatformError, RevisionSpec, RevisionState
from keel.platforms.memory import MemoryPlatform


async def test_deploy_traffic_and_removal() -> None:
    platform = MemoryPlatform(lambda: 5.0)
    rev = await platform.deploy(RevisionSpec("a"))
    assert rev.url == "http://a.memory.invalid" and rev.created == 5.0
    with pytest.raises(PlatformError, match="already exists"):
        await platform.deploy(RevisionSpec("a"))
    await platform.deploy(RevisionSpec("b"))
    split = await platform.set_traffic({"a": 90, "b": 10})
    assert split.serving == ("a", "b") and (await platform.traffic()).weights == {"a": 90, "b": 10}
    with pytest.raises(PlatformError, match="no revision c"):
        await platform.set_traffic({"c": 100})
    with pytest.raises(PlatformError, match="add up to 90"):
        await platform.set_traffic({"a": 90})
    with pytest.raises(PlatformError, match="still has traffic"):
        await platform.remove("b")
    await platform.set_traffic({"a": 100, "b": 0})
    await platform.remove("b")
    assert [r.name for r in await platform.revisions()] == ["a"] and platform.removed == ["b"]


async def test_scripted_failures_and_prober() -> None:
    platform = MemoryPlatform()
    await platform.deploy(RevisionSpec("a"))
    platform.set_state("a", RevisionState.FAILED, "exit 3")
    with pytest.raises(PlatformError, match="is failed"):
        await platform.set_traffic({"a": 100})
    platform.failing["traffic"] = PlatformError("down")
    with pytest.raises(PlatformError, match="down"):
        await platform.traffic()
    prober = platform.prober()
    assert (await prober.probe("http://a.memory.invalid/health/ready", 1)).ok
    platform.ready["a"] = False
    assert (await prober.probe("http://a.memory.invalid/health/ready", 1)).detail == "HTTP 503"
    assert not (await prober.probe("http://zz.memory.invalid/", 1)).ok
