"""What the strict checks add to a cold verify of the shipped deck, as a ratio.

    .venv/bin/python bench/bench_strict.py [--rounds 3] [PATHS]

Each round verifies the deck cold (no cache, every card run) twice, alternating: once as
`tfcards verify --strict` does it (rules, plus the fork-server job that looks up every
TensorFlow name the cards mention), and once with the checks switched off, the peer. The
ratio of the medians is what docs/benchmarks.md records (target: at most 1.10x).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from generator import checks
from generator.load import load_cards
from generator.verify import verify


def timed(cards, strict: bool) -> float:
    saved = checks.mentioned_names, checks.check
    if not strict:  # the peer: the same run without name lookups or rules
        checks.mentioned_names, checks.check = (lambda cards: set()), (lambda card, seen: ())
    try:
        start = time.perf_counter()
        report = verify(cards, jobs=2, cache=None, strict=strict)
        elapsed = time.perf_counter() - start
    finally:
        checks.mentioned_names, checks.check = saved
    assert not report.failed, [v.card_id for v in report.failed]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("paths", nargs="*", default=[str(Path(__file__).parent.parent / "cards")])
    args = parser.parse_args()
    cards = load_cards(args.paths)
    names = len(checks.mentioned_names(cards))
    print(f"{len(cards)} cards, {names} distinct TensorFlow names, {args.rounds} alternated rounds, medians")
    strict, plain = [], []
    for i in range(args.rounds):
        first, second = (True, False) if i % 2 == 0 else (False, True)
        for mode in (first, second):
            (strict if mode else plain).append(timed(cards, mode))
    s, p = statistics.median(strict), statistics.median(plain)
    print(f"cold verify --strict {s:6.1f} s   without the checks {p:6.1f} s   ratio {s / p:.3f}x")


if __name__ == "__main__":
    main()
