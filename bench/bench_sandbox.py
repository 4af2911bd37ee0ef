"""What the sandbox costs: a cold `tfcards verify` of the shipped deck, confined and not, as a ratio.

    .venv/bin/python bench/bench_sandbox.py [--rounds 3] [--jobs N]

Each round runs `verify --no-cache --sandbox` and `verify --no-cache --no-sandbox` on cards/
(alternated, the first of each pair swapped every round, so a machine growing busier does not
favour one side); the medians and their ratio are printed. Target: at most 1.05x
(docs/benchmarks.md records the figures). Then the sandbox's fixed cost alone: the fork server
started until it has imported TensorFlow and run one trivial card, confined and not, alternated
over --starts rounds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CI="1", PYTHONPATH=str(ROOT))


def timed(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "generator.cli", "verify", "--no-cache", *args, "cards"],
                          cwd=ROOT, capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - start
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode not in (0, 1) or "sandboxed" not in summary:
        raise SystemExit(f"verify {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, summary


def started(sandbox: bool) -> float:
    """Seconds from starting a fork server to the outcome of one trivial card."""
    from generator.runner import Runner

    begin = time.perf_counter()
    with Runner(1, sandbox=sandbox) as runner:
        runner.run([{"key": "k", "code": "print(1)", "timeout": 60}], lambda outcome: None)
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--jobs", default=None, help="--jobs for verify [default: its own default]")
    args = parser.parse_args()
    extra = ["--jobs", args.jobs] if args.jobs else []
    times: dict[str, list[float]] = {"--sandbox": [], "--no-sandbox": []}
    summaries: dict[str, str] = {}
    print(f"shipped deck, {args.rounds} alternated rounds, {os.cpu_count()} cores, medians", flush=True)
    for i in range(args.rounds):
        order = ["--sandbox", "--no-sandbox"] if i % 2 == 0 else ["--no-sandbox", "--sandbox"]
        for flag in order:
            seconds, summaries[flag] = timed(flag, *extra)
            times[flag].append(seconds)
            print(f"  round {i + 1} {flag:13} {seconds:6.2f} s   {summaries[flag]}", flush=True)
    confined, bare = statistics.median(times["--sandbox"]), statistics.median(times["--no-sandbox"])
    print(f"cold verify, shipped deck: sandboxed {confined:6.2f} s   not sandboxed {bare:6.2f} s   "
          f"ratio {confined / bare:.3f}x (target <= 1.05x)", flush=True)
    sys.path.insert(0, str(ROOT))
    starts: dict[bool, list[float]] = {True: [], False: []}
    for i in range(args.starts):
        for sandbox in ((True, False) if i % 2 == 0 else (False, True)):
            starts[sandbox].append(started(sandbox))
    confined, bare = statistics.median(starts[True]), statistics.median(starts[False])
    print(f"fork server to a first outcome: sandboxed {confined:5.2f} s   not sandboxed {bare:5.2f} s   "
          f"difference {confined - bare:+.3f} s ({args.starts} alternated rounds)")


if __name__ == "__main__":
    main()
