"""Latency of `tfcards serve`: from a topic file's write to the updated card row, for one changed
trivial card, against a cold `tfcards verify --no-cache` of the same file measured in the same run.

    .venv/bin/python bench/bench_serve.py --rounds 5

Two observers of one server: an event-stream client (the update's arrival at a page) and, when
Debian's chromium and chromium-driver are installed, the deck page in headless Chromium, where
the row's new status is stamped with the wall clock the moment the page has applied it.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
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


WATCH_ROW = """
window.seen = [];
new MutationObserver(() => {
  const row = document.getElementById("card-trivial");
  const status = row && row.dataset.status;
  if (status && status !== (window.seen.at(-1) || [])[0]) window.seen.push([status, Date.now()]);
}).observe(document.getElementById("rows"), {childList: true, subtree: true, attributes: true});
"""


def open_browser(url: str):
    """The deck page in headless Chromium, or None where it is not installed."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return None
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
    driver.get(url)
    driver.execute_script(WATCH_ROW)
    return driver


def browser_saw(driver, want: str, since: float, timeout: float = 60) -> float:
    """Seconds from SINCE (wall clock) to the page showing the row with status WANT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for status, stamp in driver.execute_script("return window.seen"):
            if status == want and stamp / 1000 >= since:
                return stamp / 1000 - since
        time.sleep(0.01)
    raise TimeoutError(f"the page never showed {want}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--with-deck", action="store_true",
                        help="Serve the shipped cards/ beside the bench card (their verdicts cached in "
                             "build/.cache), so each save re-judges a full deck.")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="tfcards-bench-serve-") as tmp:
        topic = Path(tmp) / "cards" / "bench.yaml"
        topic.parent.mkdir()
        topic.write_text(CARD.format(n=0, out=1))
        cache = ["--no-cache"]
        if args.with_deck:
            shutil.copytree(ROOT / "cards", topic.parent / "deck")
            cache = ["--cache-dir", str(ROOT / "build" / ".cache")]
        proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "serve", "--port", "0", *cache],
                                cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = int(re.search(r":(\d+)/", proc.stdout.readline()).group(1))
            got: queue.Queue = queue.Queue()
            threading.Thread(target=events, args=(port, -1, got), daemon=True).start()
            deadline = time.monotonic() + 600
            passed = False
            while True:  # the bench card passed and nothing runs: the fork server is warm and idle
                _, data = got.get(timeout=max(1, deadline - time.monotonic()))
                shown = data.get("main", "") + "".join(v or "" for v in (data.get("rows") or {}).values())
                if 'id="card-trivial" class="card-row" data-id="trivial" data-status="passed"' in shown:
                    passed = True
                if passed and 'badge running' not in data.get("summary", data.get("main", "")):
                    break
            driver = open_browser(f"http://127.0.0.1:{port}/")
            rerun, rejudge, page_rerun, page_rejudge = [], [], [], []
            for n in range(1, args.rounds + 1):
                for kind, text, want, into, page in (
                        ("code", CARD.format(n=n, out=n + 1), "passed", rerun, page_rerun),   # a new run
                        ("output", CARD.format(n=n, out=n + 100), "failed", rejudge, page_rejudge),  # judged only
                        ("restore", CARD.format(n=n, out=n + 1), "passed", None, None)):
                    time.sleep(0.3)
                    wall, start = time.time(), time.perf_counter()
                    topic.write_text(text)
                    while True:
                        arrived, data = got.get(timeout=60)
                        if row_status(data) == want:
                            break
                    if into is not None:
                        into.append(arrived - start)
                        if driver is not None:
                            page.append(browser_saw(driver, want, wall))
                    elif driver is not None:
                        browser_saw(driver, want, wall)
            if driver is not None:
                driver.quit()
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
    if page_rerun:
        print(f"save -> row updated in Chromium's page, code changed:              median "
              f"{med(page_rerun) * 1000:.0f} ms, max {max(page_rerun) * 1000:.0f} ms")
        print(f"save -> row updated in Chromium's page, output changed:            median "
              f"{med(page_rejudge) * 1000:.0f} ms, max {max(page_rejudge) * 1000:.0f} ms")
    print(f"cold `tfcards verify --no-cache` of the same file:                  median {med(cold):.2f} s")
    worst = max(page_rerun or rerun)
    print(f"ratio (re-run edit / cold verify): {med(page_rerun or rerun) / med(cold):.3f}x; target: <= 0.5 s "
          f"for every edit, {'met' if worst <= 0.5 else 'missed'} (worst {worst * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
