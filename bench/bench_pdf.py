"""Time the duplex PDF for synthetic decks of 100 / 1,000 (/ 10,000) cards.

    .venv/bin/python bench/bench_pdf.py            # 100 and 1,000 cards
    .venv/bin/python bench/bench_pdf.py --10k      # also 10,000 cards (about a minute on 2 cores, < 1 GB RAM)
    .venv/bin/python bench/bench_pdf.py 250 2000   # any sizes
    .venv/bin/python bench/bench_pdf.py --jobs 1   # in one process (default: one per CPU)
    .venv/bin/python bench/bench_pdf.py 1000 --against /tmp/old --rounds 3
                                                   # this tree against another (`git archive`),
                                                   # alternated: old, new, old, new...

Each size prints wall-clock and CPU seconds, the worker processes' CPU included (CPU time is
what to compare on a shared machine: other processes slow the wall clock, not the CPU time;
with several jobs the wall clock is the figure that drops) and the per-card cost, then the
peer measured in the same run: bare WeasyPrint, in one process, printing the same cards' text
as one explicit grid per page (fronts, then backs; no highlighting, no fitting, no marks), the
layout the issue measured at 3.3 s for 1,000 cards. With 1,000 and 10,000 cards it prints the
10k/1k ratio (target <= 12; 10 is linear).
"""
from __future__ import annotations

import argparse
import gc
import html
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generator.cards import Card
from generator.pdf import write_pdf

WORDS = ("tensor shape dtype gradient the a of layer model keras `tf.function` batch **eager** "
         "variable reshape broadcast axis returns").split()


def synthetic(n: int) -> list[Card]:
    """Cards like real ones: a question, an answer, every other card with code and output."""
    cards = []
    for i in range(n):
        words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8 + i % 30)]
        code = f"x = tf.constant([{i % 10}, 2, 3])\nprint(tf.reduce_sum(x))\n" if i % 2 else None
        cards.append(Card(id=f"card-{i:05d}", topic=f"Topic {i // 250}", front=" ".join(words[:10 + i % 5]) + "?",
                          back=" ".join(words), file=Path("bench.yaml"), line=i + 1, code=code,
                          output=f"tf.Tensor({i % 10 + 5}, shape=(), dtype=int32)\n" if code else None))
    return cards


def peer(cards: list[Card], out: Path) -> None:
    """Bare WeasyPrint: one explicit grid of 4 card slots per page, plain text, fronts then backs."""
    from weasyprint import HTML

    def slot(k: int, body: str) -> str:
        return (f'<div style="position:absolute; left:{15 + (k % 2) * 135}mm; top:{20 + (k // 2) * 85}mm; '
                f'width:127mm; height:76mm; font-size:8pt">{body}</div>')

    pages = []
    for i in range(0, len(cards), 4):
        group = cards[i:i + 4]
        pages.append("".join(slot(k, html.escape(c.front)) for k, c in enumerate(group)))
        pages.append("".join(slot(k ^ 1, html.escape(c.back) + (f"<pre>{html.escape(c.code)}\n{html.escape(c.output)}</pre>"
                                                                  if c.code else "")) for k, c in enumerate(group)))
    doc = "".join(f'<div style="position:relative; height:210mm; break-after:page">{p}</div>' for p in pages)
    HTML(string=f"<style>@page {{ size: A4 landscape; margin: 0 }}</style>{doc}").write_pdf(out)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the PDF worker processes)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def one(n: int, jobs: int | None) -> None:
    """Lay out N synthetic cards once, in this process's `generator`; print the CPU and wall
    seconds as JSON (for --against, which runs this under each source tree)."""
    write_pdf(synthetic(2), Path(tempfile.gettempdir()) / "bench-warmup.pdf", tf_version="2.21.0")
    with tempfile.TemporaryDirectory() as tmp:
        cards = synthetic(n)
        gc.collect()
        start, start_cpu = time.perf_counter(), cpu_seconds()
        write_pdf(cards, Path(tmp) / "bench.pdf", tf_version="2.21.0", jobs=jobs)
        print(json.dumps({"cpu": cpu_seconds() - start_cpu, "wall": time.perf_counter() - start}))


def against(sizes: list[int], other: Path, rounds: int, jobs: int | None) -> None:
    """This tree's layout against OTHER's (a source tree of another commit), alternated in one run:
    CPU time is what to compare on a shared machine."""
    trees = {"before": other.resolve(), "after": Path(__file__).resolve().parent.parent}
    for n in sizes:
        cpu: dict[str, list[float]] = {"before": [], "after": []}
        for r in range(rounds):
            for name, tree in trees.items():
                args = [sys.executable, str(Path(__file__).resolve()), "--one", str(n)]
                if jobs:
                    args += ["--jobs", str(jobs)]
                out = subprocess.run(args, env=dict(os.environ, PYTHONPATH=str(tree)), cwd=tree,
                                     capture_output=True, text=True, check=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                cpu[name].append(result["cpu"])
                print(f"{n:>6} cards, round {r + 1}, {name:<6}: {result['cpu']:6.1f} s CPU, "
                      f"{result['wall']:6.1f} s wall", flush=True)
        before, after = statistics.median(cpu["before"]), statistics.median(cpu["after"])
        print(f"{n:>6} cards: median CPU before {before:.1f} s, after {after:.1f} s: "
              f"after / before = {after / before:.3f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help="deck sizes (default: 100 1000)")
    parser.add_argument("--10k", dest="tenk", action="store_true", help="also time 10,000 cards")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per CPU)")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="a source tree of another commit to compare with, alternated")
    parser.add_argument("--rounds", type=int, default=3, help="with --against: runs of each tree")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return one(args.one, args.jobs)
    sizes = args.sizes or [100, 1000]
    if args.against:
        return against(sizes, args.against, args.rounds, args.jobs)
    if args.tenk and 10000 not in sizes:
        sizes.append(10000)
    write_pdf(synthetic(2), Path(tempfile.gettempdir()) / "bench-warmup.pdf", tf_version="2.21.0")  # imports
    wall, cpu = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cards = synthetic(n)
            gc.collect()
            start, start_cpu = time.perf_counter(), cpu_seconds()
            result = write_pdf(cards, Path(tmp) / f"bench-{n}.pdf", tf_version="2.21.0", jobs=args.jobs)
            wall[n], cpu[n] = time.perf_counter() - start, cpu_seconds() - start_cpu
            size = result.path.stat().st_size / 1e6
            print(f"{n:>6} cards: {wall[n]:6.1f} s wall, {cpu[n]:6.1f} s CPU ({1000 * cpu[n] / n:.1f} ms/card), "
                  f"{result.pages} pages, {size:.1f} MB, {len(result.overflowing)} too long", flush=True)
            gc.collect()
            start = time.perf_counter()
            peer(cards, Path(tmp) / f"peer-{n}.pdf")
            bare = time.perf_counter() - start
            print(f"{'':>14}peer, bare WeasyPrint grid in one process: {bare:6.1f} s wall; "
                  f"tfcards / peer = {wall[n] / bare:.2f}x", flush=True)
    if 1000 in wall and 10000 in wall:
        print(f"10k/1k ratio: {wall[10000] / wall[1000]:.1f} wall, {cpu[10000] / cpu[1000]:.1f} CPU (target <= 12)")


if __name__ == "__main__":
    main()
