"""`tfcards build --format apkg` with every verdict cached, against plain genanki, as ratios.

    .venv/bin/python bench/bench_anki.py [--rounds 3] [--sizes 1000,10000]

For each size, a synthetic deck (10 topic files; basic, reverse and cloze cards; Markdown and
highlighted code) is built with a warm cache, alternating with the peer: a script that writes
the same number of notes with genanki and no rendering at all. Medians are printed, with the
ratio to the peer and the growth from the smallest to the largest size (linear: growth ~ size
ratio). Target from the issue: 10,000 cards <= 10 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
TFCARDS = str(Path(PY).parent / "tfcards")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CI="1")
DISTINCT = 50  # distinct snippets: a warm-up verify of these caches every card of any size

PEER = """
import sys, genanki
n, out = int(sys.argv[1]), sys.argv[2]
model = genanki.Model(1746009999, "peer", fields=[{"name": f} for f in "ABCDEFG"],
                      templates=[{"name": "c", "qfmt": "{{A}}", "afmt": "{{B}}"}])
deck = genanki.Deck(1746009998, "Peer")
for i in range(n):
    deck.add_note(genanki.Note(model=model, fields=[f"card-{i}", "topic", f"What is {i}?",
                  f"tf.Tensor({i % 50 + 1}, shape=(), dtype=int32)", "code", "output", "status"]))
genanki.Package(deck).write_to_file(out, timestamp=1)
"""


def write_deck(n: int, root: Path) -> Path:
    cards = root / f"cards-{n}"
    cards.mkdir()
    per_file = max(1, n // 10)
    for t in range(10):
        lines = [f"topic: Topic {t}", "cards:"]
        for i in range(t * per_file, min(n, (t + 1) * per_file)):
            v = i % DISTINCT
            if i % 10 == 3:
                lines += [f"  - id: c{i}", "    type: cloze",
                          f"    front: \"`tf.constant({v})` has dtype {{{{c1::int32}}}} and shape {{{{c2::()}}}}.\""]
                continue
            lines += [f"  - id: c{i}", f"    front: What does `tf.constant({v}) + 1` print, card **{i}**?",
                      f"    back: A scalar `int32` tensor holding {v + 1}.",
                      *(["    type: reverse"] if i % 10 == 7 else []),
                      "    tags: [synthetic, bench]", "    code: |", f"      print(tf.constant({v}) + 1)",
                      "    output: |", f"      tf.Tensor({v + 1}, shape=(), dtype=int32)"]
        (cards / f"topic-{t}.yaml").write_text("\n".join(lines) + "\n")
    return cards


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache, peer = root / "cache", root / "peer.py"
        peer.write_text(PEER)
        warm = write_deck(DISTINCT, root)
        subprocess.run([TFCARDS, "verify", str(warm), "--cache-dir", str(cache)], check=True, env=ENV,
                       stdout=subprocess.DEVNULL)
        print(f"{'cards':>6}  {'tfcards':>9}  {'genanki':>9}  ratio")
        medians = {}
        for n in sizes:
            deck = write_deck(n, root)
            build = [TFCARDS, "build", str(deck), "--format", "apkg", "--cache-dir", str(cache),
                     "--out", str(root / "out")]
            subprocess.run(build, check=True, env=ENV, stdout=subprocess.DEVNULL)  # first build writes the stamps
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(timed(build))
                theirs.append(timed([PY, str(peer), str(n), str(root / "peer.apkg")]))
            medians[n] = statistics.median(ours)
            peer_s = statistics.median(theirs)
            print(f"{n:>6}  {medians[n]:>8.2f}s  {peer_s:>8.2f}s  {medians[n] / peer_s:.2f}x", flush=True)
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            print(f"growth {lo} -> {hi} cards: {medians[hi] / medians[lo]:.1f}x for {hi / lo:.0f}x the cards")


if __name__ == "__main__":
    main()
