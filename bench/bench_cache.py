"""What signing the cache and the bounded matcher cost: this tree against an earlier one, same run.

    .venv/bin/python bench/bench_cache.py [--before a1dba16] [--rounds 3] [--cards 100]

- entries: get and put of real outcomes (the trivial deck's), signed and schema-checked here,
  against the unsigned read-and-check the cache did before (a copy of it below), per entry.
- verify: `tfcards verify` on bench_verify's trivial deck, cold (a fresh cache written) and
  fully cached, with this tree and with the tree at --before, alternating.
- judge: every card of the shipped deck and the TensorFlow docstring corpus judged against
  its real outcome, with the bounded matcher and with the regex it replaced.
Medians are printed; the ratios are what docs/benchmarks.md records.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parents[1]), str(Path(__file__).parents[1] / "tests")]

from bench_verify import ENV, PY, write_deck  # noqa: E402

ROOT = Path(__file__).parents[1]


class UnsignedCache:
    """The cache's read and write before entries were signed (commit a1dba16), for comparison."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        outcome = entry.get("outcome") if isinstance(entry, dict) and entry.get("key") == key else None
        if not isinstance(outcome, dict) or outcome.get("status") != "completed" \
                or not isinstance(outcome.get("stdout"), str):
            return None
        return outcome

    def put(self, key: str, outcome: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"key": key, "outcome": outcome}, f)
        os.replace(tmp, path)


def per_entry(cache, outcomes: dict[str, dict], rounds: int) -> tuple[float, float]:
    """Median microseconds per put and per get (a hit) over OUTCOMES."""
    puts, gets = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for key, outcome in outcomes.items():
            cache.put(key, outcome)
        puts.append(time.perf_counter() - start)
        start = time.perf_counter()
        for key in outcomes:
            assert cache.get(key) is not None
        gets.append(time.perf_counter() - start)
    return statistics.median(puts) / len(outcomes) * 1e6, statistics.median(gets) / len(outcomes) * 1e6


def timed(cmd: list[str], cwd: Path, pythonpath: Path, env: dict) -> tuple[float, float]:
    """Wall-clock and CPU seconds (the command's and its children's): CPU time is what a
    machine shared with other work still measures fairly."""
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=dict(env, PYTHONPATH=str(pythonpath)))
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verify_runs(cards: Path, before: Path, work: Path, rounds: int) -> None:
    env = dict(ENV, XDG_CACHE_HOME=str(work / "xdg"))
    cli = [PY, "-m", "generator.cli", "verify"]
    cold = {"before": [], "now": []}
    for r in range(rounds):
        for side, tree in (("before", before), ("now", ROOT)):
            cold[side].append(timed(cli + ["--cache-dir", str(work / f"{side}-{r}"), str(cards)], work, tree, env))
    cached = {"before": [], "now": []}
    for _ in range(max(rounds, 10)):
        for side, tree in (("before", before), ("now", ROOT)):
            cached[side].append(timed(cli + ["--cache-dir", str(work / f"{side}-0"), str(cards)], work, tree, env))
    for name, runs in (("cold  ", cold), ("cached", cached)):
        for i, what in enumerate(("wall", "CPU ")):
            b, n = (statistics.median(t[i] for t in runs[side]) for side in ("before", "now"))
            print(f"verify {name} {what} before {b:6.2f} s   now {n:6.2f} s   now/before {n / b:.2f}x", flush=True)


def judge_all(rounds: int) -> None:
    from test_compare import regex_matches

    from generator import compare, verify as verify_module
    from generator.cache import Cache, default_directory
    from generator.load import load_cards

    pairs = []
    for paths in ([ROOT / "cards"], [ROOT / "tests/data/docstrings.yaml", ROOT / "tests/data/loose.yaml"]):
        cards = load_cards(paths)
        report = verify_module.verify(cards, jobs=2, cache=Cache(default_directory()))
        for card in cards:
            out = report.outcomes.get(card.id)
            if out and card.output is not None:
                pairs.append((card.output, out.get("stdout", ""), card.tolerance, card.whitespace))
    times = {"regex": [], "bounded": []}
    for _ in range(rounds):
        for name, match in (("regex", regex_matches), ("bounded", compare.matches)):
            start = time.perf_counter()
            verdicts = [match(*pair) for pair in pairs]
            times[name].append(time.perf_counter() - start)
            assert name == "regex" or verdicts == old, "the matchers disagree"
            old = verdicts
    r, b = statistics.median(times["regex"]), statistics.median(times["bounded"])
    print(f"judge  {len(pairs)} outputs: regex {r * 1e3:6.1f} ms   bounded {b * 1e3:6.1f} ms   "
          f"bounded/regex {b / r:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="a1dba16", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cards", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tfcards-bench-cache-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "xdg")  # a key and a cache of the bench's own
    before = work / "before"
    before.mkdir()
    archive = subprocess.run(["git", "archive", args.before, "generator"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
    print(f"{args.cards} trivial cards, {args.rounds} alternated rounds, {os.cpu_count()} cores, medians; "
          f"before = {args.before}", flush=True)
    try:
        measure(args, work, before)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args, work: Path, before: Path) -> None:
    cards, _ = write_deck("trivial", args.cards, work)

    from generator.cache import Cache
    from generator.load import load_cards
    from generator.verify import verify

    report = verify(load_cards([cards]), jobs=2, cache=Cache(work / "outcomes"))
    outcomes = {f"{i:064x}": o for i, o in enumerate(report.outcomes.values())}
    signed = per_entry(Cache(work / "signed"), outcomes, max(args.rounds, 5))
    unsigned = per_entry(UnsignedCache(work / "unsigned"), outcomes, max(args.rounds, 5))
    print(f"entry  put: unsigned {unsigned[0]:5.0f} us   signed {signed[0]:5.0f} us   "
          f"get: unsigned {unsigned[1]:5.0f} us   signed {signed[1]:5.0f} us", flush=True)
    verify_runs(cards, before, work, args.rounds)
    judge_all(max(args.rounds, 5))


if __name__ == "__main__":
    main()
