import pytest

from keel.analysis.sources.memory import DEFAULT_BOUNDS, MemorySource


async def test_window_sums_slots_inside_the_span() -> None:
    source = MemorySource()
    source.record("r1", 10.0, latencies=[0.001, 0.05, 100.0], errors=1)
    source.record("r1", 20.0, latencies=[0.05], errors=0)
    source.record("r1", 30.0, requests=5, errors=5, counts=[0] * (len(DEFAULT_BOUNDS) - 1) + [5])
    source.record("r2", 20.0, latencies=[0.2])
    window = await source.window("r1", 10.0, 20.0)
    assert (window.requests, window.errors) == (4, 1)
    assert window.latency.total == 4
    assert window.latency.counts[DEFAULT_BOUNDS.index(0.001)] == 1
    assert window.latency.counts[DEFAULT_BOUNDS.index(0.05)] == 2
    assert window.latency.counts[-1] == 1  # 100 s lands in +Inf
    assert (await source.window("r1", 0.0, 100.0)).errors == 6
    empty = await source.window("nobody", 0.0, 100.0)
    assert (empty.requests, empty.errors, empty.latency.total) == (0, 0, 0)


def test_record_refuses_inconsistent_input() -> None:
    source = MemorySource()
    with pytest.raises(ValueError, match="more errors"):
        source.record("r", 1.0, latencies=[0.1], errors=2)
    with pytest.raises(ValueError, match="length"):
        source.record("r", 1.0, counts=[1, 2])
