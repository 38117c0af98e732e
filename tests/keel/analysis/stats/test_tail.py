import math

from keel.analysis.stats.tail import count_above, exceedances, tail_levels

BOUNDS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, math.inf]


def test_threshold_is_the_first_bound_with_at_most_the_tail_share_above() -> None:
    canary = [10, 20, 40, 20, 6, 3, 1]  # 100 requests
    baseline = [100, 200, 400, 200, 80, 15, 5]  # 1000 requests
    found = exceedances(BOUNDS, canary, baseline, 0.95)
    assert found is not None
    # pooled above 0.2 s: 3+1+15+5 = 24 of 1100 (2.2 %) <= 5 %; above 0.1 s: 110 (10 %) > 5 %
    assert found.threshold == 0.2
    assert (found.canary, found.canary_total) == (4, 100)
    assert (found.baseline, found.baseline_total) == (20, 1000)


def test_nothing_to_compare() -> None:
    assert exceedances(BOUNDS, [0] * 7, [0] * 7, 0.99) is None
    # everything in the first bucket: no request above any bound
    assert exceedances(BOUNDS, [5, 0, 0, 0, 0, 0, 0], [50, 0, 0, 0, 0, 0, 0], 0.99) is None
    # most requests in the +Inf bucket: no finite bound has at most 1 % above it
    assert exceedances(BOUNDS, [0, 0, 0, 0, 0, 0, 5], [0, 0, 0, 0, 0, 0, 50], 0.99) is None


def test_the_ladder_of_pooled_quantiles() -> None:
    levels = tail_levels(0.99)
    assert [round(q, 6) for q, _ in levels] == [0.99, 0.97, 0.9]
    assert sum(share for _, share in levels) == 1.0
    # rungs at or below the median are dropped (their share of the budget is not spent)
    assert [round(q, 6) for q, _ in tail_levels(0.9)] == [0.9, 0.7]


def test_a_canary_that_lifts_the_pooled_p99_is_still_compared_at_a_lower_rung() -> None:
    # 3 % of the canary's requests beyond 0.5 s at a 50 % step: 1.5 % of the pooled traffic is there, so the
    # pooled p99 threshold lands above them and finds nothing; the p97 rung compares them
    canary = [970, 0, 0, 0, 0, 30, 0]
    baseline = [1000, 0, 0, 0, 0, 0, 0]
    assert exceedances(BOUNDS, canary, baseline, 0.99) is None
    found = exceedances(BOUNDS, canary, baseline, 0.97)
    assert found is not None and found.threshold == 0.01
    assert (found.canary, found.baseline) == (30, 0)


def test_count_above_interpolates_geometrically_inside_a_bucket() -> None:
    counts = [100, 200, 400, 200, 80, 15, 5]  # above 0.1 s: 100, above 0.2 s: 20
    assert count_above(BOUNDS, counts, 0.1) == 100
    assert count_above(BOUNDS, counts, 0.2) == 20
    # half way between 0.1 and 0.2 s in log latency: the geometric mean of 100 and 20
    assert abs(count_above(BOUNDS, counts, math.sqrt(0.02)) - math.sqrt(100 * 20)) < 1e-9
    # in the +Inf bucket (taken to end at 1 s) the count above falls linearly to 0
    assert abs(count_above(BOUNDS, counts, 0.75) - 5 * (1 - math.log(1.5) / math.log(2))) < 1e-9
    assert count_above(BOUNDS, counts, 5.0) == 0
    # a canary whose threshold is moved by the allowance: the count is rounded down
    found = exceedances(
        BOUNDS, [10, 20, 40, 20, 6, 3, 1], [100, 200, 400, 200, 80, 15, 5], 0.95, canary_factor=1.05
    )
    assert found is not None and found.threshold == 0.2 and found.canary == 3
