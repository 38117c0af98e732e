"""`keel smoke --compare` in repeated runs: how often a 30 % slower candidate is flagged and an identical one
(also one on a machine that slows down during the run) wrongly is. Local servers with an injected delay.

    .venv/bin/python -m benchmarks.smoke.bench_compare [--runs 20] [--delay 0.010] [--samples 40] [--looks 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
from dataclasses import dataclass

from tests.keel.smoke.misbehaving import MisbehavingServer

from keel.smoke import Outcome, compare_suite, parse_suite


@dataclass
class Scenario:
    name: str
    slowdown: float
    drift: bool = False


SCENARIOS = (
    Scenario("candidate 30 % slower", 1.3),
    Scenario("identical", 1.0),
    Scenario("identical, machine slowing 3x during the run", 1.0, drift=True),
    Scenario("candidate 5 % slower (inside the 10 % margin)", 1.05),
)


async def run(runs: int, delay: float, samples: int, looks: int) -> None:
    suite = parse_suite(
        "latency:\n  checks:\n    - {name: endpoint, path: /latency, max: 1s}\n"
        f"compare: {{margin: 10%, confidence: 0.95, samples: {samples}, looks: {looks}, warmup: 5}}\n"
    )
    print(
        f"{runs} runs per scenario, {samples} interleaved pairs per look, at most {looks} looks, "
        f"server delay {delay * 1000:.0f} ms (the candidate's scaled by the slowdown)\n"
    )
    print("| scenario | flagged | median ratio | median lower bound | median pairs | median run time |")
    print("|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        flagged = 0
        ratios: list[float] = []
        lowers: list[float] = []
        times: list[float] = []
        pairs: list[int] = []
        for i in range(runs):
            candidate = await MisbehavingServer(delay * scenario.slowdown).start()
            baseline = await MisbehavingServer(delay).start()
            if scenario.drift:
                candidate.drift = delay * scenario.slowdown * 2 / (samples + 5)
                baseline.drift = delay * 2 / (samples + 5)
            try:
                report = await compare_suite(suite, candidate.url, baseline.url, rng=random.Random(i))
            finally:
                await candidate.stop()
                await baseline.stop()
            result = report.comparisons[0]
            flagged += result.outcome is Outcome.failed
            ratios.append(result.ratio or 0.0)
            lowers.append(result.lower_bound or 0.0)
            times.append(report.duration_s)
            pairs.append(len(result.candidate))
        print(
            f"| {scenario.name} | {flagged}/{runs} | {statistics.median(ratios):.3f} "
            f"| {statistics.median(lowers):.3f} | {statistics.median(pairs):.0f} | {statistics.median(times):.2f} s |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.010)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--looks", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.runs, args.delay, args.samples, args.looks))


if __name__ == "__main__":
    main()
