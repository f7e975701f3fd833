"""Dialer pacing on a simulated day: progressive, power and predictive side by
side through the real omnichannel_cc/tools/pacing.py (no Odoo, no database).

The day is a discrete-event simulation (tests/bench/_dialer_sim.py) in
simulated time: a campaign list, agents talking and wrapping up, lines ringing
until answered or the no-answer timeout, answering machines detected and
dropped, people answering and connected to the longest-free agent or abandoned
after 2 s. Every mode meets the same contacts with the same outcomes (drawn
once from --seed). Prints a table and whether the issue's target is met:
predictive keeps abandonment <= the target and cuts the agents' mean wait
between calls by at least half against progressive. Never fails on a figure.

    python3 tests/bench/bench_pacing.py --agents 20 --contacts 10000 --seed 1
"""

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _dialer_sim as sim

COLUMNS = (
    ("mode", "{:<12}", lambda r: r.label),
    ("placed", "{:>7}", lambda r: r.placed),
    ("live", "{:>6}", lambda r: r.live),
    ("connected", "{:>9}", lambda r: r.connected),
    ("abandoned", "{:>9}", lambda r: f"{r.abandon_rate * 100:.2f} %"),
    ("occupancy", "{:>9}", lambda r: f"{r.occupancy * 100:.1f} %"),
    ("wait s", "{:>7}", lambda r: f"{r.mean_wait:.1f}"),
    ("per agent-h", "{:>11}", lambda r: f"{r.per_agent_hour:.2f}"),
    ("level", "{:>5}", lambda r: f"{r.mean_level:.2f}"),
    ("guarded", "{:>7}", lambda r: f"{r.guard_decisions / max(r.decisions, 1) * 100:.0f} %"),
    ("over", "{:>4}", lambda r: r.over_limit),
)


def table(results):
    header = " | ".join(fmt.format(name) for name, fmt, _ in COLUMNS)
    rows = [
        " | ".join(fmt.format(value(result)) for _name, fmt, value in COLUMNS) for result in results
    ]
    return "\n".join([header, "-" * len(header), *rows])


def verdict(results, target):
    by_label = {r.label: r for r in results}
    progressive, predictive = by_label["progressive"], by_label["predictive"]
    abandon_ok = predictive.abandon_rate <= target
    cut = 1 - predictive.mean_wait / progressive.mean_wait if progressive.mean_wait else 0.0
    abandon = (
        f"predictive abandonment {predictive.abandon_rate * 100:.2f} % "
        f"(target <= {target * 100:.1f} %): {'met' if abandon_ok else 'NOT met'}"
    )
    wait = (
        f"agents' mean wait between calls {progressive.mean_wait:.1f} s -> "
        f"{predictive.mean_wait:.1f} s, cut by {cut * 100:.0f} % (target >= 50 %): "
        f"{'met' if cut >= 0.5 else 'NOT met'}"
    )
    lines = [abandon, wait]
    over = [r.label for r in results if r.over_limit]
    lines.append(
        "lines over the mode's limit: "
        + (f"in {', '.join(over)}" if over else "never, in any mode")
    )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--contacts", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hours", type=float, default=8.0, help="length of the day")
    p.add_argument("--answer-rate", type=float, default=0.30)
    p.add_argument("--machines", type=float, default=0.15, help="share of answers by machines")
    p.add_argument("--max-level", type=float, default=3.0, help="predictive maximum dial level")
    args = p.parse_args()
    config = replace(
        sim.SimConfig(),
        agents=args.agents,
        contacts=args.contacts,
        seed=args.seed,
        day_seconds=args.hours * 3600,
        answer_rate=args.answer_rate,
        machine_share=args.machines,
    )
    print(
        f"{config.agents} agents, {config.contacts} contacts, seed {config.seed}, "
        f"{args.hours:g} h; answer rate {config.answer_rate:.0%} "
        f"({config.machine_share:.0%} of answers machines, detected in "
        f"{config.amd_seconds:g} s); ring to answer lognormal median {config.ring_median:g} s, "
        f"no answer after {config.ring_timeout:g} s, busy/failed {config.busy_share:.0%} of "
        f"the unanswered; talk lognormal median {config.talk_median:g} s "
        f"(sigma {config.talk_sigma:g}), wrap-up exponential mean {config.wrap_mean:g} s; "
        f"{config.max_attempts} attempts {config.retry_seconds / 60:g} min apart; "
        f"pacing every {config.tick:g} s"
    )
    started = time.perf_counter()
    plans = sim.draw_contacts(config)
    results = [
        sim.simulate(config, settings, label, plans)
        for label, settings in sim.default_modes(args.max_level)
    ]
    elapsed = time.perf_counter() - started
    print()
    print(table(results))
    print()
    target = sim.default_modes(args.max_level)[-1][1].abandon_target
    print(verdict(results, target))
    ended = {f"{r.end / 3600:.2f} h" for r in results}
    print(f"day measured until {', '.join(sorted(ended))}; simulated in {elapsed:.1f} s")
    print(
        "wait s: mean seconds an agent is free before the next connected call; "
        "per agent-h: conversations per agent-hour; level: mean lines per counted agent; "
        "guarded: decisions under the abandon guard; over: decisions leaving more lines "
        "than the mode allows"
    )


if __name__ == "__main__":
    main()
