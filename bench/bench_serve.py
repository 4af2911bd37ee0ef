"""Latency of `tfcards serve`: from a topic file's write to the updated card row arriving at an
open page (its server-sent event), for one changed trivial card, against a cold
`tfcards verify --no-cache` of the same file measured in the same run.

    .venv/bin/python bench/bench_serve.py --rounds 5
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARD = """\
topic: Bench
cards:
  - id: trivial
    front: What does it print?
    back: A tensor.
    code: |
      print(tf.constant({n}) + 1)
    output: |
      tf.Tensor({out}, shape=(), dtype=int32)
"""


def events(port: int, since: int, into: queue.Queue) -> None:
    """Read the deck page's event stream, as the page does, putting (arrival time, data)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", f"/events?page=deck&since={since}")
    response = conn.getresponse()
    for raw in response:
        line = raw.decode()
        if line.startswith("data: "):
            into.put((time.perf_counter(), json.loads(line[6:])))


def row_status(data: dict) -> str | None:
    html = (data.get("rows") or {}).get("trivial") or ""
    match = re.search(r'data-status="([\w-]+)"', html)
    return match.group(1) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="tfcards-bench-serve-") as tmp:
        topic = Path(tmp) / "cards" / "bench.yaml"
        topic.parent.mkdir()
        topic.write_text(CARD.format(n=0, out=1))
        proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "serve", "--port", "0", "--no-cache"],
                                cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = int(re.search(r":(\d+)/", proc.stdout.readline()).group(1))
            got: queue.Queue = queue.Queue()
            threading.Thread(target=events, args=(port, -1, got), daemon=True).start()
            deadline = time.monotonic() + 300
            while True:  # the first verdict: TensorFlow has imported, the fork server is warm
                _, data = got.get(timeout=max(1, deadline - time.monotonic()))
                shown = data.get("main", "") + "".join(v or "" for v in (data.get("rows") or {}).values())
                if 'data-status="passed"' in shown:
                    break
            rerun, rejudge = [], []
            for n in range(1, args.rounds + 1):
                for kind, text, want, into in (
                        ("code", CARD.format(n=n, out=n + 1), "passed", rerun),         # a new run
                        ("output", CARD.format(n=n, out=n + 100), "failed", rejudge),  # judged again only
                        ("restore", CARD.format(n=n, out=n + 1), "passed", None)):
                    time.sleep(0.3)
                    start = time.perf_counter()
                    topic.write_text(text)
                    while True:
                        arrived, data = got.get(timeout=60)
                        if row_status(data) == want:
                            break
                    if into is not None:
                        into.append(arrived - start)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)

        cold = []
        for _ in range(max(1, args.rounds // 2)):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "generator.cli", "verify", "--no-cache", str(topic)], cwd=tmp,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cold.append(time.perf_counter() - start)

    med = statistics.median
    print(f"save -> updated row, code changed (re-run in the warm fork server): median {med(rerun) * 1000:.0f} ms, "
          f"max {max(rerun) * 1000:.0f} ms over {len(rerun)}")
    print(f"save -> updated row, output changed (judged again, no run):        median {med(rejudge) * 1000:.0f} ms, "
          f"max {max(rejudge) * 1000:.0f} ms over {len(rejudge)}")
    print(f"cold `tfcards verify --no-cache` of the same file:                  median {med(cold):.2f} s")
    print(f"ratio (re-run edit / cold verify): {med(rerun) / med(cold):.3f}x; target: <= 0.5 s, "
          f"{'met' if max(rerun) <= 0.5 else 'missed'}")


if __name__ == "__main__":
    main()
