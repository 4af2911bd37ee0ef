"""Cold and cached `tfcards verify` against peers measured in the same run, as ratios.

    .venv/bin/python bench/bench_verify.py [--rounds 3] [--cards 100]

- trivial: 100 cards `print(tf.constant(i) + 1)`; heavy: 100 cards of ~80 ms single-threaded
  eager work. Each is timed cold (`tfcards verify --no-cache`) alternating with the peer,
  `pytest --doctest-glob` running the same snippets in one interpreter.
- cached: `tfcards verify` with every verdict cached, against a bare `python -c "import tensorflow"`.
Medians of the rounds are printed; the ratios are what docs/benchmarks.md records.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
TFCARDS = [str(Path(PY).parent / "tfcards")]
HEAVY = "x = tf.constant(0.5)\nfor _ in range(4000):\n    x = tf.math.sin(x) + 0.5\nprint(round(float(x), 3))"
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CI="1")


def snippets(kind: str, n: int) -> list[str]:
    if kind == "trivial":
        return [f"print(tf.constant({i}) + 1)" for i in range(n)]
    return [HEAVY.replace("0.5)", f"0.5 + {i} / 1000)", 1) for i in range(n)]


def outputs(kind: str, codes: list[str], work: Path) -> list[str]:
    """The true outputs, computed once in one interpreter (they are the cards' expectations)."""
    script = work / "outputs.py"
    script.write_text("import io, contextlib, json, sys, time\nimport tensorflow as tf\nres = []\n"
                      "start = time.perf_counter()\n"
                      f"for code in {codes!r}:\n"
                      "    buf = io.StringIO()\n"
                      "    with contextlib.redirect_stdout(buf):\n"
                      "        exec(code, {'tf': tf})\n"
                      "    res.append(buf.getvalue())\n"
                      "print(f'{(time.perf_counter() - start) / len(res) * 1000:.0f}', file=sys.stderr)\n"
                      "json.dump(res, sys.stdout)\n")
    import json
    proc = subprocess.run([PY, str(script)], capture_output=True, text=True, env=ENV, check=True)
    print(f"{kind}: {proc.stderr.strip().splitlines()[-1]} ms of work per card in one warm interpreter", flush=True)
    return json.loads(proc.stdout)


def write_deck(kind: str, n: int, work: Path) -> tuple[Path, Path]:
    codes = snippets(kind, n)
    outs = outputs(kind, codes, work)
    cards = work / f"{kind}-cards"
    doctests = work / f"{kind}-doctests"
    cards.mkdir()
    doctests.mkdir()
    lines = [f"topic: {kind}", "cards:"]
    for i, (code, out) in enumerate(zip(codes, outs)):
        lines += [f"  - id: {kind}-{i}", "    front: q", "    back: a", "    code: |"]
        lines += ["      " + l for l in code.splitlines()]
        lines += ["    output: |"] + ["      " + l for l in out.splitlines()]
        doc = [">>> import tensorflow as tf", f">>> exec({code!r})"]
        doc += out.splitlines()
        (doctests / f"card_{i:04d}.txt").write_text("\n".join(doc) + "\n")
    (cards / f"{kind}.yaml").write_text("\n".join(lines) + "\n")
    return cards, doctests


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cards", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tfcards-bench-"))
    try:
        print(f"{args.cards} cards, {args.rounds} alternated rounds, {os.cpu_count()} cores, medians")
        for kind in ("trivial", "heavy"):
            cards, doctests = write_deck(kind, args.cards, work)
            ours, peer = [], []
            for _ in range(args.rounds):
                ours.append(timed(TFCARDS + ["verify", "--no-cache", str(cards)], work))
                peer.append(timed([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--doctest-glob=*.txt",
                                   str(doctests)], work))
            o, p = statistics.median(ours), statistics.median(peer)
            print(f"{kind:8} cold tfcards verify {o:6.2f} s   pytest --doctest-glob {p:6.2f} s   ratio {o / p:.2f}x")
        cache = work / "cache"
        cards = work / "trivial-cards"
        timed(TFCARDS + ["verify", "--cache-dir", str(cache), str(cards)], work)
        cached, bare = [], []
        for _ in range(max(args.rounds, 5)):
            cached.append(timed(TFCARDS + ["verify", "--cache-dir", str(cache), str(cards)], work))
            bare.append(timed([PY, "-c", "import tensorflow"], work))
        c, b = statistics.median(cached), statistics.median(bare)
        print(f"cached   tfcards verify {c:6.2f} s   python -c 'import tensorflow' {b:6.2f} s   ratio {c / b:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
