"""The verdict channel through the CLI: a card reaches no channel but its own, its result is one
checked, capped message, the server's lines are checked too, and `serve` lives through it all
and cancels a run whose card changed (docs/security.md, section 2)."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from generator import channel

from test_serve import stop

ROOT = Path(__file__).parent.parent
MALFORMED = "its process sent a malformed result"


def tfcards(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)), **kwargs)


def deck(root: Path, cards: dict[str, tuple[str, str]], name: str = "t.yaml") -> Path:
    """A topic file of CARDS (id -> (code, output)) under ROOT/cards."""
    lines = ["topic: T", "cards:"]
    for card_id, (code, output) in cards.items():
        lines += [f"  - id: {card_id}", "    front: q", "    back: a", "    code: |"]
        lines += ["      " + line for line in textwrap.dedent(code).strip().splitlines()]
        lines += [f"    output: {json.dumps(output)}"]
    (root / "cards").mkdir(exist_ok=True)
    (root / "cards" / name).write_text("\n".join(lines) + "\n")
    return root / "cards"


def statuses(report: Path) -> dict[str, tuple[str, str]]:
    return {c["id"]: (c["status"], c["reason"]) for c in json.loads(report.read_text())["cards"]}


OWN_FDS = """
import os
def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
print([fd for fd in sorted(map(int, os.listdir('/proc/self/fd'))) if is_open(fd)])
"""
FORGED = {"key": "b-liar", "status": "completed", "stdout": "42\n", "stderr": "", "exception": None,
          "warnings": [], "seconds": 0.1}
LIAR = f"""
import os
for fd in range(3, 1024):  # every descriptor it may have inherited, siblings' pipes included
    try:
        os.write(fd, {(json.dumps(FORGED) + chr(10)).encode()!r})
    except OSError:
        pass
print(1)
"""


@pytest.mark.parametrize("jobs, sandbox", [("1", "--no-sandbox"), ("2", "--sandbox")])
def test_a_card_sees_only_its_own_channel_and_cannot_forge_another(tmp_path, jobs, sandbox):
    deck(tmp_path, {
        "own-fds": (OWN_FDS, "[0, 1, 2, 3]"),
        "a-liar": (LIAR, "1"),
        "b-liar": ("print(41)", "42"),
        "garbage": ("import os\nos.write(3, b'\\xff\\x00{{{ not json\\n' * 1000)\nprint(1)", "1"),
        "honest": ("print(tf.constant(2) * 3)", "tf.Tensor(6, shape=(), dtype=int32)"),
    })
    proc = tfcards("verify", "--no-cache", "--jobs", jobs, sandbox, "--report", "r.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    got = statuses(tmp_path / "r.json")
    assert got["own-fds"] == ("passed", ""), proc.stderr
    assert got["a-liar"] == ("failed", MALFORMED) and got["garbage"] == ("failed", MALFORMED)
    assert got["b-liar"] == ("failed", "output differs from 'output'")
    assert got["honest"] == ("passed", "")


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def writes(payload: str) -> str:
    """Card code that sends PAYLOAD (a Python expression for bytes) as its whole result."""
    return f"import base64, json, os\nos.write(3, {payload})\nos._exit(0)"


def result(**fields) -> str:
    return repr(json.dumps({"exception": None, "warnings": [], **fields}).encode())


FIGURE = base64.b64encode(PNG).decode()
BAD_RESULTS = {
    "not-json": writes("b'\\xff\\xfe garbage'"),
    "two-objects": writes(f"{result()} + {result()}"),
    "sets-its-key": writes(result(key="../../escape")),
    "sets-its-status": writes(result(status="completed")),
    "exception-not-a-dict": writes(repr(json.dumps({"exception": "boom", "warnings": []}).encode())),
    "deeply-nested": writes("b'[' * 200000 + b']' * 200000"),
    "warning-not-text": writes(repr(json.dumps({"exception": None, "warnings": [1]}).encode())),
    "no-warnings-field": writes(repr(json.dumps({"exception": None}).encode())),
    "value-unasked": writes(result(value={"tf.x": None})),
    "nine-figures": writes(result(figures=[FIGURE] * 9)),
    "figure-not-png": writes(result(figures=[base64.b64encode(b"GIF89a....").decode()])),
    "figure-not-base64": writes(result(figures=["not base64!"])),
    "figure-too-big": writes("json.dumps({'exception': None, 'warnings': [], 'figures': "
                             "[base64.b64encode(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(2 << 20)).decode()]}).encode()"),
    "floods-its-result": "import os\nchunk = b' ' * (1 << 20)\nfor _ in range(64):\n    os.write(3, chunk)",
}


def test_every_malformed_result_fails_its_card_alone(tmp_path):
    deck(tmp_path, {**{name: (code, "") for name, code in BAD_RESULTS.items()},
                    "sends-a-figure": (writes(result(figures=[FIGURE] * channel.FIGURES_MAX)), ""),
                    "honest": ("print(1)", "1")})
    proc = tfcards("verify", "--no-cache", "--jobs", "2", "--report", "r.json", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    got = statuses(tmp_path / "r.json")
    assert {name: got[name] for name in BAD_RESULTS} == {name: ("failed", MALFORMED) for name in BAD_RESULTS}
    assert got["sends-a-figure"] == ("passed", "") and got["honest"] == ("passed", "")
    assert "(unknown field 'key')" in proc.stderr and not (tmp_path.parent / "escape").exists()


# --- the server's own lines ----------------------------------------------------------------------

FAKE_SERVER = """#!{python}
import json, os, sys
if sys.argv[1:3] != ["-m", "generator.zygote"]:  # the version probes: answer as the real one
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
print(json.dumps({{"ready": True, "tensorflow": "2.21.0"}}), flush=True)
job = json.loads(sys.stdin.readline())
print({line}.replace("KEY", job["key"]), flush=True)
sys.stdin.read()
"""


def fake_python(root: Path, line: str) -> Path:
    """An "interpreter" whose fork server sends LINE (a Python expression) after the ready line."""
    fake = root / "fake-python"
    fake.write_text(FAKE_SERVER.format(python=sys.executable, line=line))
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("line, says", [
    ("'not json at all'", "a line that is not JSON: not json at all"),
    ("'[1, 2]'", "a line that is not a JSON object"),
    ("json.dumps({'key': 'other', 'status': 'completed'})", "an outcome of a job it was not given"),
    ("json.dumps({'started': 'other'})", "a start of a job it was not given"),
    ("json.dumps({'key': 'KEY', 'status': 'completed', 'seconds': 1, 'stdout': 5, 'stderr': ''})",
     "an outcome that breaks the schema (stdout is not text)"),
    ("json.dumps({'key': 'KEY', 'status': 'won', 'seconds': 1, 'stdout': '', 'stderr': ''})",
     "an outcome that breaks the schema (unknown status 'won')"),
])
def test_a_malformed_line_from_the_server_is_one_clear_error(tmp_path, line, says):
    deck(tmp_path, {"one": ("print(1)", "1")})
    proc = tfcards("verify", "--no-cache", "--python", str(fake_python(tmp_path, line)), cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: the TensorFlow runner sent {says}"), proc.stderr


# --- caps -----------------------------------------------------------------------------------------

def _tree(root: int) -> dict[int, tuple[int, str]]:
    """ROOT and its descendants: pid -> (parent pid, command line)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            procs[int(entry)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    tree, grew = {root: procs.get(root, (0, ""))}, True
    while grew:
        grew = False
        for pid, (ppid, cmd) in procs.items():
            if ppid in tree and pid not in tree:
                tree[pid] = (ppid, cmd)
                grew = True
    return tree


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def test_a_huge_exception_warnings_and_stderr_are_cut_in_the_card_and_tfcards_stays_small(tmp_path):
    """The 300 MB exception of issue 24: every tfcards process (main, fork server) stays under
    1 GB resident, and the stored outcome is small; each cut leaves a note."""
    deck(tmp_path, {
        "huge-exception": ("raise ValueError('x' * 300_000_000)", "nothing"),
        "many-warnings": ("import warnings\nfor i in range(500):\n    warnings.warn(f'{i} ' + 'w' * 10_000)\n"
                          "print(1)", "1"),
        "loud-stderr": ("import sys\nsys.stderr.write('e\\n' * 5_000_000)\nprint(1)", "2"),
    })
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:  # no pipe to fill
        proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "verify", "--jobs", "1", "--cache-dir", "c"],
                                cwd=tmp_path, stdout=out, stderr=err, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    def zygote(cmd: str) -> bool:  # the server or a card's process, not bwrap around them
        return "-m generator.zygote" in cmd and os.path.basename(cmd.split(" ")[0]) != "bwrap"

    peaks: dict[str, int] = {}
    while proc.poll() is None:
        tree = _tree(proc.pid)
        for pid, (ppid, cmd) in tree.items():
            role = "main" if pid == proc.pid else "server" if (
                zygote(cmd) and not zygote(tree.get(ppid, (0, ""))[1])) else None
            if role:
                peaks[role] = max(peaks.get(role, 0), _peak_kib(pid))
        time.sleep(0.02)
    err = (tmp_path / "err").read_text()
    assert proc.returncode == 1, err[-3000:]
    assert set(peaks) == {"main", "server"}, peaks
    assert max(peaks.values()) < 1 << 20, peaks  # KiB: under 1 GiB each
    stored = sum(f.stat().st_size for f in (tmp_path / "c").rglob("*") if f.is_file())
    assert 0 < stored < 1 << 20
    assert "FAILED cards/t.yaml:3: card 'huge-exception': raised ValueError: xxxx" in err
    assert f"[... {300_000_000 - channel.MESSAGE_CAP} more characters of this message dropped]" in err
    assert f"(and {channel.WARNINGS_MAX} more)" in err and "more characters of this warning dropped" in err
    assert f"[... {10_000_000 - channel.STDERR_KEEP} more bytes of stderr dropped]" in err


# --- serve ------------------------------------------------------------------------------------------

@pytest.fixture
def serving(tmp_path):
    """Start `tfcards serve --jobs 1` on the deck under tmp_path; yields a function reading
    each card's status off the deck page (and with `page=True`, the page itself)."""
    procs = []

    def start(*args: str):
        proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "serve", "--port", "0", "--jobs", "1", *args],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        procs.append(proc)
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line + proc.stderr.read()

        def status(page: bool = False):
            html = urllib.request.urlopen(url.group(0), timeout=30).read().decode()
            if page:
                return html
            return dict(re.findall(r'id="card-([\w-]+)" class="card-row" data-id="[\w-]+" data-status="(\w+)"', html))
        return status

    yield start
    for proc in procs:
        stop(proc, 30)


def wait_for(what, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def test_serve_lives_through_forged_and_garbage_results(tmp_path, serving):
    deck(tmp_path, {"a-liar": (LIAR, "1"), "garbage": ("import os\nos.write(3, b'\\xff{{{\\n' * 99)", ""),
                    "b-liar": ("print(41)", "42"), "honest": ("print(1)", "1")})
    status = serving("--no-cache")
    assert wait_for(lambda: (s := status()) and "running" not in s.values() and s) == {
        "a-liar": "failed", "garbage": "failed", "b-liar": "failed", "honest": "passed"}
    (tmp_path / "cards" / "t.yaml").write_text((tmp_path / "cards" / "t.yaml").read_text().replace("print(41)",
                                                                                                   "print(42)"))
    wait_for(lambda: status().get("b-liar") == "passed", 60)  # the reader still reads


def test_serve_cancels_the_run_of_a_card_that_changed(tmp_path, serving):
    """--jobs 1: the fixed card's run need not wait for the hanging version's 300 s timeout."""
    cards = deck(tmp_path, {"first": ("print(1)", "1"), "stuck": ("import time\ntime.sleep(1000)", "2")})
    (cards / "t.yaml").write_text((cards / "t.yaml").read_text() + "    timeout: 300\n")
    status = serving("--no-cache")
    wait_for(lambda: status().get("first") == "passed")
    time.sleep(1)  # `stuck` holds the only job slot now
    assert status()["stuck"] == "running"
    start = time.monotonic()
    (cards / "t.yaml").write_text((cards / "t.yaml").read_text().replace("import time\n      time.sleep(1000)",
                                                                         "print(2)"))
    wait_for(lambda: status().get("stuck") == "passed", 60)
    assert time.monotonic() - start < 60


def test_serve_shows_a_malformed_server_line_and_serves_on(tmp_path, serving):
    """The reader thread does not die on a line that is not JSON: the page says what the server
    sent, and keeps being served."""
    deck(tmp_path, {"one": ("print(1)", "1")})
    status = serving("--no-cache", "--python", str(fake_python(tmp_path, "'not json at all'")))
    page = wait_for(lambda: (html := status(page=True)) and "The TensorFlow fork server stopped" in html and html, 60)
    assert "the TensorFlow runner sent a line that is not JSON: not json at all" in page
    assert status() == {"one": "running"}
