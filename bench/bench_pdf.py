"""Time the duplex PDF for 100 / 1,000 / 10,000 synthetic cards: `.venv/bin/python bench/bench_pdf.py [N ...]`."""
from __future__ import annotations

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


def main(sizes: list[int]) -> None:
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cards = synthetic(n)
            start = time.perf_counter()
            result = write_pdf(cards, Path(tmp) / f"bench-{n}.pdf", tf_version="2.21.0")
            times[n] = time.perf_counter() - start
            size = result.path.stat().st_size / 1e6
            print(f"{n:>6} cards: {times[n]:6.1f} s, {result.pages} pages, {size:.1f} MB, "
                  f"{len(result.overflowing)} too long", flush=True)
    if 1000 in times and 10000 in times:
        print(f"10k/1k ratio: {times[10000] / times[1000]:.1f} (target <= 12)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 10000])
