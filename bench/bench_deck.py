"""Cold `tfcards verify --strict` of the shipped deck, per card, against an earlier deck in the same run.

    .venv/bin/python bench/bench_deck.py [--rounds 3] [--against e72f6c6] [--slowest 15]

The peer is the deck as it stood at `--against` (default: e72f6c6, the 409-card deck before the
interview topics were added), taken from git with `git archive` and verified by the same
tfcards, so the ratio measures the cards and not the engine. Rounds alternate; medians of wall
clock and of CPU (tfcards and its children, which a shared machine still measures fairly) are
printed per card. Runs are `--no-sandbox`: a process inside bubblewrap's PID namespace is not
reaped by tfcards, so its CPU time would go uncounted; the sandbox's own cost, a fixed 0.12 s per
run, is bench_sandbox.py's to measure. A warm-up run first reads TensorFlow from disk, which would otherwise charge
the first round seconds of I/O. Then the slowest cards of the current deck, from `--report`, so
heavy cards can be found and kept small.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from bench_verify import ENV, TFCARDS

ROOT = Path(__file__).resolve().parent.parent


def deck_at(rev: str, dest: Path) -> Path:
    """The `cards/` directory of `rev` (or the working tree for "."), unpacked under `dest`."""
    if rev == ".":
        shutil.copytree(ROOT / "cards", dest / "cards")
    else:
        blob = subprocess.run(["git", "archive", rev, "cards"], cwd=ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(dest, filter="data")
    return dest / "cards"


def verify(cards: Path, report: Path, allowed: tuple[int, ...] = (0,)) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (children included) and the JSON report of one cold run. The old
    deck may fail checks added since (exit 1): its cards still ran, which is what is measured."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(TFCARDS + ["verify", "--strict", "--no-cache", "--no-sandbox", "--report", str(report), str(cards)],
                          cwd=cards.parent, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in allowed:
        raise SystemExit(f"verify {cards} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(report.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", default="e72f6c6", help="git revision of the peer deck")
    parser.add_argument("--slowest", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tfcards-bench-deck-"))
    try:
        decks = {"now": deck_at(".", work / "now"), "before": deck_at(args.against, work / "before")}
        verify(decks["before"], work / "warm.json", (0, 1))
        runs: dict[str, list[tuple[float, float, dict]]] = {"now": [], "before": []}
        for i in range(args.rounds):
            for name in ("before", "now") if i % 2 == 0 else ("now", "before"):
                runs[name].append(verify(decks[name], work / f"{name}-{i}.json", (0, 1) if name == "before" else (0,)))
                wall, cpu, rep = runs[name][-1]
                print(f"round {i + 1} {name:6} {wall:6.1f} s wall {cpu:6.1f} s CPU", flush=True)
        print(f"\n{args.rounds} alternated rounds, {os.cpu_count()} cores, default --jobs, --no-sandbox, "
              f"--strict; medians per card (cards counted: every card in the deck)")
        per = {}
        for name, rs in runs.items():
            n = len(rs[0][2]["cards"])
            summary = rs[0][2]["summary"]
            wall, cpu = statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)
            per[name] = (wall / n, cpu / n)
            print(f"{name:6} {n:4} cards {summary}  {wall:6.1f} s wall ({wall / n * 1000:5.0f} ms/card)  "
                  f"{cpu:6.1f} s CPU ({cpu / n * 1000:5.0f} ms/card)")
        print(f"ratio per card, now/before: wall {per['now'][0] / per['before'][0]:.2f}x  "
              f"CPU {per['now'][1] / per['before'][1]:.2f}x")
        durations: dict[str, list[float]] = {}
        for _, _, rep in runs["now"]:
            for card in rep["cards"]:
                if "seconds" in card:
                    durations.setdefault(f"{card['file']}:{card['id']}", []).append(card["seconds"])
        if durations:
            print(f"\nslowest {args.slowest} cards now (median seconds of their own run):")
            for key, secs in sorted(durations.items(), key=lambda kv: -statistics.median(kv[1]))[:args.slowest]:
                print(f"  {statistics.median(secs):6.2f}  {key}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
