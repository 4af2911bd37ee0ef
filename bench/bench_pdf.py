"""Time the duplex PDF for synthetic decks of 100 / 1,000 (/ 10,000) cards.

    .venv/bin/python bench/bench_pdf.py            # 100 and 1,000 cards
    .venv/bin/python bench/bench_pdf.py --10k      # also 10,000 cards (a few minutes, ~6 GB RAM)
    .venv/bin/python bench/bench_pdf.py 250 2000   # any sizes

Each size prints wall-clock and CPU seconds (CPU time is what to compare on a shared machine:
other processes slow the wall clock, not this process's CPU time) and the per-card cost.
With 1,000 and 10,000 cards it prints the 10k/1k ratio (target <= 12; 10 is linear).
"""
from __future__ import annotations

import argparse
import gc
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help="deck sizes (default: 100 1000)")
    parser.add_argument("--10k", dest="tenk", action="store_true", help="also time 10,000 cards")
    args = parser.parse_args(argv)
    sizes = args.sizes or [100, 1000]
    if args.tenk and 10000 not in sizes:
        sizes.append(10000)
    write_pdf(synthetic(2), Path(tempfile.gettempdir()) / "bench-warmup.pdf", tf_version="2.21.0")  # imports
    wall, cpu = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cards = synthetic(n)
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            result = write_pdf(cards, Path(tmp) / f"bench-{n}.pdf", tf_version="2.21.0")
            wall[n], cpu[n] = time.perf_counter() - start, time.process_time() - start_cpu
            size = result.path.stat().st_size / 1e6
            print(f"{n:>6} cards: {wall[n]:6.1f} s wall, {cpu[n]:6.1f} s CPU ({1000 * cpu[n] / n:.1f} ms/card), "
                  f"{result.pages} pages, {size:.1f} MB, {len(result.overflowing)} too long", flush=True)
            start = time.perf_counter()
            gc.collect()  # the laid-out document, freed after the PDF is written: timed on its own
            print(f"{'':>14}freeing the laid-out document afterwards: {time.perf_counter() - start:.1f} s", flush=True)
    if 1000 in wall and 10000 in wall:
        print(f"10k/1k ratio: {wall[10000] / wall[1000]:.1f} wall, {cpu[10000] / cpu[1000]:.1f} CPU (target <= 12)")


if __name__ == "__main__":
    main()
