"""`tfcards serve` as an author meets it: a real server process, a real headless Chromium, and
card files edited on disk while the page is open. Also: the Anki preview equals what the real
`anki` library renders for the same note."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WAIT = 120  # seconds: the first verdicts wait for TensorFlow's import, slow on a busy machine

DECK = """\
topic: Tensors
cards:
  - id: constant-repr
    front: What does `print(tf.constant(4))` show?
    back: An eager tensor, `shape=()`.
    tags: [eager]
    code: |
      print(tf.constant(4))
    output: |
      tf.Tensor(4, shape=(), dtype=int32)
  - id: dtype-cloze
    type: cloze
    front: "`tf.constant(4)` has dtype {{c1::`int32`}} and shape {{c2::`()`}}."
    code: |
      print(tf.constant(4))
    output: |
      tf.Tensor(4, shape=(), dtype=int32)
  - id: zeros-reverse
    type: reverse
    front: tf.zeros
    back: Creates a tensor filled with zeros.
"""

HOSTILE = """\
topic: Hostile
cards:
  - id: hangs
    front: Does this hang?
    back: Yes.
    timeout: 1
    code: |
      import time
      time.sleep(600)
    output: ""
  - id: crashes
    front: Does this crash?
    back: Yes.
    code: |
      import os, signal
      os.kill(os.getpid(), signal.SIGSEGV)
    output: ""
  - id: floods
    front: Does this flood?
    back: Yes.
    code: |
      while True:
          print("x" * 1000)
    output: ""
"""


# --- the Anki preview against the real Anki ---------------------------------------------------

def test_anki_preview_matches_what_anki_renders(tmp_path):
    from anki.collection import Collection

    from generator import render
    from generator.anki import MODELS, render_fields
    from generator.load import load_cards
    from generator.serve import preview

    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "t.yaml").write_text(DECK)
    cards = {c.id: c for c in load_cards([tmp_path / "cards"])}
    env = render.environment()
    col = Collection(str(tmp_path / "c.anki2"))
    try:
        for kind in ("basic", "reverse", "cloze"):
            nt = MODELS[kind]
            m = col.models.new(nt.name)
            m["type"] = 1 if nt.cloze else 0
            for f in nt.fields:
                col.models.add_field(m, col.models.new_field(f))
            for name, q, a in nt.templates:
                t = col.models.new_template(name)
                t["qfmt"], t["afmt"] = q, a
                col.models.add_template(m, t)
            col.models.add(m)
        for card_id in ("constant-repr", "dtype-cloze", "zeros-reverse"):
            card = cards[card_id]
            fields, _ = render_fields(card, env, "2.21.0")
            note = col.new_note(col.models.by_name(MODELS[card.type].name))
            for name, value in zip(MODELS[card.type].fields, fields):
                note[name] = value
            col.add_note(note, 1)
            ours = preview.note(card, env, "2.21.0").views
            theirs = sorted(note.cards(), key=lambda c: c.ord)
            assert len(ours) == len(theirs) == {"constant-repr": 1, "dtype-cloze": 2, "zeros-reverse": 2}[card_id]
            for view, real in zip(ours, theirs):
                strip = lambda html: re.sub(r"^<style>.*?</style>", "", html, flags=re.S)
                assert view.question == strip(real.question()), (card_id, view.name)
                assert view.answer == strip(real.answer()), (card_id, view.name)
    finally:
        col.close()


# --- the live server in a browser -------------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "tensors.yaml").write_text(DECK)
    (cards / "hostile.yaml").write_text(HOSTILE)
    return tmp_path


@pytest.fixture
def server(project):
    """`tfcards serve --port 0` in a process of its own; yields its URL; stopped with SIGINT."""
    with serving(project, "--port", "0", "--jobs", "2") as (url, _):
        yield url


@contextlib.contextmanager
def serving(project: Path, *args: str):
    """`tfcards serve ARGS` in a process of its own; yields its URL and the process; stopped with
    SIGINT, and it must then exit 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "serve", *args], cwd=project,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, line + proc.stderr.read()
        yield match.group(0), proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Ctrl-C a `tfcards serve`: it must stop cleanly within TIMEOUT seconds."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"tfcards serve did not stop within {timeout:g} s of Ctrl-C")
    assert proc.returncode == 0, proc.stderr.read()


@pytest.fixture
def browser():
    from selenium import webdriver  # a test extra: missing it is a broken setup, not a skip

    if not (shutil.which("chromium") and shutil.which("chromedriver")):  # fail loudly, never skip
        pytest.fail("needs Debian's chromium and chromium-driver (make test installs them as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def status(driver, card_id: str, key: str = "status") -> str | None:
    """A card row's data-KEY, read in one script: a row the server replaces between two WebDriver
    calls goes stale."""
    return driver.execute_script("const r = document.getElementById(arguments[0]); return r && r.dataset[arguments[1]]",
                                 f"card-{card_id}", key)


def stale(driver, card_id: str) -> str | None:
    return status(driver, card_id, "stale")


def text(driver, element_id: str) -> str:
    return driver.execute_script("return document.getElementById(arguments[0]).innerText", element_id)


def wait_for(what, timeout: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(None, timeout, poll_frequency=0.05).until(lambda _: what())


def test_deck_page_follows_edits_without_reloading(server, browser, project):
    topic = project / "cards" / "tensors.yaml"
    browser.get(server)
    browser.execute_script("window.marker = 'same page'")  # gone if the page reloads
    wait_for(lambda: status(browser, "constant-repr") == "passed")
    assert status(browser, "zeros-reverse") == "no-code"

    # cards that hang, crash and flood fail as in `verify`, and the server lives on
    wait_for(lambda: all(status(browser, c) == "failed" for c in ("hangs", "crashes", "floods")))
    shown = text(browser, "rows")
    assert "timed out after 1 s" in shown and "killed by SIGSEGV" in shown and "printed too much output" in shown

    # a false output: failed, with the diff
    topic.write_text(DECK.replace("tf.Tensor(4, shape=(), dtype=int32)\n  - id: dtype-cloze",
                                  "tf.Tensor(4, size=(), dtype=int32)\n  - id: dtype-cloze"))
    wait_for(lambda: status(browser, "constant-repr") == "failed")
    row = text(browser, "card-constant-repr")
    assert "output differs from 'output'" in row
    assert "-tf.Tensor(4, size=(), dtype=int32)" in row and "+tf.Tensor(4, shape=(), dtype=int32)" in row

    # fixed: passes again
    topic.write_text(DECK)
    wait_for(lambda: status(browser, "constant-repr") == "passed")

    # a YAML error is reported with file and line, beside the file's last good cards marked
    # stale (not "0 cards"); fixing it clears both
    topic.write_text(DECK.replace("    tags: [eager]", "    tags: [eager"))
    wait_for(lambda: browser.find_elements("css selector", "#errors .load-error"))
    error = text(browser, "errors")
    assert re.search(r"cards/tensors\.yaml:\d+:", error), error
    wait_for(lambda: stale(browser, "constant-repr") == "yes")
    assert status(browser, "constant-repr") == "passed" and "(3 stale)" in text(browser, "summary")
    topic.write_text(DECK)
    wait_for(lambda: not browser.find_elements("css selector", "#errors .load-error"))
    wait_for(lambda: status(browser, "constant-repr") == "passed" and stale(browser, "constant-repr") == "no")

    # deleting a file removes its cards
    (project / "cards" / "hostile.yaml").unlink()
    wait_for(lambda: status(browser, "hangs") is None)

    # filters: status
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element("name", "status")).select_by_visible_text("no-code")
    visible = browser.execute_script(
        "return [...document.querySelectorAll('#rows .card-row')].filter(r => !r.hidden).map(r => r.dataset.id)")
    assert visible == ["zeros-reverse"]
    assert browser.execute_script("return window.marker") == "same page"


def test_cloze_card_page_shows_each_deletion_and_follows_edits(server, browser, project):
    browser.get(server + "card/dtype-cloze")
    browser.execute_script("window.marker = 'same page'")
    wait_for(lambda: status(browser, "dtype-cloze") == "passed")  # the verdict redraws the page's content
    wait_for(lambda: browser.find_elements("css selector", ".view h3"))
    names = browser.execute_script("return [...document.querySelectorAll('.view h3')].map(h => h.innerText)")
    assert names == ["cloze c1", "cloze c2"]
    frames = browser.find_elements("css selector", "iframe.anki-card")
    assert len(frames) == 8  # 2 cards x front/back x day/night

    def frame_text(i: int) -> str:
        browser.switch_to.frame(browser.find_elements("css selector", "iframe.anki-card")[i])
        try:
            return browser.find_element("tag name", "body").text
        finally:
            browser.switch_to.default_content()

    # c1's front hides int32 and shows (); its back reveals int32
    assert "[...]" in frame_text(0) and "int32" not in frame_text(0) and "()" in frame_text(0)
    assert "int32" in frame_text(1)
    night = browser.find_elements("css selector", "iframe.anki-card")[2]
    browser.switch_to.frame(night)
    assert "nightMode" in browser.find_element("tag name", "body").get_attribute("class")
    browser.switch_to.default_content()

    # a third deletion appears as a third card, live
    topic = project / "cards" / "tensors.yaml"
    topic.write_text(DECK.replace("shape {{c2::`()`}}.", "shape {{c2::`()`}} on the {{c3::CPU}}."))
    wait_for(lambda: len(browser.find_elements("css selector", ".view h3")) == 3)
    assert browser.execute_script("return window.marker") == "same page"

    # the printed sides come from the real PDF
    wait_for(lambda: browser.execute_script(
        "return [...document.querySelectorAll('figure.printed img')].every(i => i.complete && i.naturalWidth > 0)"))


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    """It used to be a 27-line traceback and exit 1."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "generator.cli", "serve", "--port", str(port)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=WAIT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"error: cannot listen on 127.0.0.1:{port}: Address already in use (another server is "
                           "using it): give another --port, or --port 0 for any free port\n")


def test_without_a_port_a_taken_8000_means_any_free_port(project):
    try:
        held = socket.create_server(("127.0.0.1", 8000))
    except OSError:  # taken already (another server on this machine): as good for this test
        held = None
    try:
        with serving(project) as (url, proc):
            assert not url.endswith(":8000/")
        assert "port 8000 is in use: serving on a free port instead" in proc.stderr.read()
    finally:
        if held is not None:
            held.close()


def test_serving_a_path_that_does_not_exist_yet_says_so_and_watches_for_it(tmp_path):
    import urllib.request

    def page(url: str) -> str:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode()

    with serving(tmp_path, "new/topic.yaml", "--port", "0", "--no-cache") as (url, proc):
        assert "new/topic.yaml: does not exist yet: its cards show here once it is created" in page(url)
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / "topic.yaml").write_text(DECK)
        wait_for(lambda: 'id="card-zeros-reverse"' in page(url), timeout=60)
        assert "does not exist yet" not in page(url)
    assert "warning: new/topic.yaml does not exist yet" in proc.stderr.read()


# --- the live deck without a server ------------------------------------------------------------

def test_workspace_reruns_only_what_changed_and_reports_errors_with_lines(tmp_path):
    from generator.serve.workspace import API_JOB, Workspace

    cards = tmp_path / "cards"
    cards.mkdir()
    topic = cards / "tensors.yaml"
    topic.write_text(DECK)
    jobs: list[dict] = []
    ws = Workspace([cards], jobs.append)
    update = ws.scan()
    runs = [j for j in jobs if not j["key"].startswith(API_JOB)]
    assert len(runs) == 1  # the two cards run the same code: one run serves both
    assert ws.entry("constant-repr").status == ws.entry("dtype-cloze").status == "running"
    assert ws.entry("zeros-reverse").status == "no-code" and update.order

    printed = "tf.Tensor(4, shape=(), dtype=int32)\n"
    for job in runs:
        update = ws.received({"key": job["key"], "status": "completed", "stdout": printed, "stderr": "",
                              "exception": None, "warnings": [], "seconds": 0.05})
    assert ws.entry("constant-repr").status == "passed" and ws.entry("dtype-cloze").status == "passed"

    # a false output is judged again against the outcome it has: nothing runs
    jobs.clear()
    topic.write_text(DECK.replace("tf.Tensor(4, shape=(), dtype=int32)\n  - id: dtype-cloze",
                                  "tf.Tensor(4, size=(), dtype=int32)\n  - id: dtype-cloze"))
    update = ws.reload([topic])
    assert update.changed == {"constant-repr"} and not [j for j in jobs if "code" in j]
    verdict = ws.entry("constant-repr").verdict
    assert verdict.status == "failed" and "-tf.Tensor(4, size=(), dtype=int32)" in verdict.detail

    # new code runs again, once
    topic.write_text(DECK.replace("print(tf.constant(4))\n    output: |\n      tf.Tensor(4, shape=(), dtype=int32)\n"
                                  "  - id: dtype-cloze", "print(tf.constant(5))\n    output: |\n      5\n  - id: dtype-cloze"))
    ws.reload([topic])
    assert [j["code"] for j in jobs if "code" in j] == ["print(tf.constant(5))\n"]
    assert ws.entry("constant-repr").status == "running"

    # a YAML error: reported with file and line; the file's last good cards stay, marked stale,
    # and a second error keeps the same good cards; fixing it clears the mark
    ids = {"constant-repr", "dtype-cloze", "zeros-reverse"}
    for broken in ("    tags: [eager", "    tags: eager]"):
        topic.write_text(DECK.replace("    tags: [eager]", broken))
        update = ws.reload([topic])
        assert not update.removed and [c.id for c in ws.cards] == ["constant-repr", "dtype-cloze", "zeros-reverse"]
        assert all(ws.entry(i).stale for i in ids) and ws.entry("constant-repr").card.code == "print(tf.constant(5))\n"
        assert re.match(r".*tensors\.yaml:\d+: ", ws.errors[0].format())
    assert update.errors and update.changed == set()  # the second error: the same stale cards
    topic.write_text(DECK)
    update = ws.reload([topic])
    assert update.errors and not ws.errors and ws.entry("constant-repr").status == "passed"
    assert not any(ws.entry(i).stale for i in ids) and update.changed == ids

    # a second file repeating an id is an error naming the first; deleting it clears it
    other = cards / "other.yaml"
    other.write_text(DECK.replace("topic: Tensors", "topic: Other"))
    ws.reload([other])
    assert any("duplicate id, first used at" in e.format() for e in ws.errors)
    other.unlink()
    update = ws.reload([other])
    assert not ws.errors and update.errors


def test_a_figure_card_that_requires_matplotlib_shows_the_figure_its_run_drew(tmp_path):
    """The page finds a card's run under the key its entry was judged with: for a card with
    `requires`, that key holds the probed modules, so one recomputed without them finds nothing."""
    import base64

    from generator.channel import PNG
    from generator.serve.pages import Pages
    from generator.serve.workspace import API_JOB, Workspace

    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "plots.yaml").write_text(textwrap.dedent("""\
        topic: Plots
        cards:
          - id: line
            front: What does it draw?
            back: A line.
            figure: back
            requires: [matplotlib]
            code: |
              import matplotlib.pyplot as plt
              print(len(plt.plot([1, 2])))
            output: "1"
        """))
    jobs: list[dict] = []
    ws = Workspace([cards], jobs.append)
    ws.scan()
    (run,) = [j for j in jobs if not j["key"].startswith(API_JOB)]
    png = PNG + b"a figure"
    ws.received({"key": run["key"], "status": "completed", "stdout": "1\n", "stderr": "", "exception": None,
                 "warnings": [], "seconds": 0.1, "figures": [base64.b64encode(png).decode()]})
    assert ws.entry("line").status == "passed"
    assert Pages(ws).figures("line") == (png,)


def test_workspace_says_a_path_does_not_exist_yet_and_loads_it_once_created(tmp_path):
    from generator.serve.workspace import Workspace

    topic = tmp_path / "nosuch.yaml"
    ws = Workspace([topic], [].append)
    ws.scan()
    assert [e.format() for e in ws.errors] == [f"{topic}: does not exist yet: its cards show here once it is created"]
    assert ws.cards == []
    topic.write_text(DECK)
    update = ws.reload([topic])
    assert update.errors and not ws.errors and [c.id for c in ws.cards] == ["constant-repr", "dtype-cloze", "zeros-reverse"]
    # a file whose first version has an error has no good cards to keep
    other = tmp_path / "other.yaml"
    ws = Workspace([other], [].append)
    other.write_text("topic: [\n")
    ws.scan()
    assert ws.cards == [] and "YAML syntax error" in ws.errors[0].format() and not ws.stale


def test_workspace_strict_fails_a_card_on_its_findings(tmp_path):
    from generator.serve.workspace import API_JOB, Workspace

    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "t.yaml").write_text("topic: T\ncards:\n  - id: says-float64\n    front: What dtype?\n"
                                  "    back: '`float64`'\n    code: print(tf.constant(1.0).dtype)\n"
                                  "    output: \"<dtype: 'float32'>\"\n")
    for strict, status in ((False, "passed"), (True, "failed")):
        jobs: list[dict] = []
        ws = Workspace([cards], jobs.append, strict=strict)
        ws.scan()
        for job in jobs:
            if not job["key"].startswith(API_JOB):
                ws.received({"key": job["key"], "status": "completed", "stdout": "<dtype: 'float32'>\n",
                             "stderr": "", "exception": None, "warnings": [], "seconds": 0.01})
        verdict = ws.entry("says-float64").verdict
        assert verdict.status == status and [f.rule for f in verdict.findings] == ["grounded"]
        assert not strict or verdict.reason.startswith("[grounded] the answer says `float64`")
