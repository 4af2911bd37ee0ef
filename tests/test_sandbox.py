"""The sandbox through the CLI: hostile cards are blocked by default and succeed under
--no-sandbox (so the flag is not a no-op); ordinary cards pass confined; a missing bubblewrap is
a warning, or bad input under --sandbox (docs/security.md, section 1)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from generator import sandbox

from test_channel import deck, statuses

ROOT = Path(__file__).parent.parent


def tfcards(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT), **env))


class Listener:
    """A loopback TCP server that records what each connection sends."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.heard: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.heard.append(conn.recv(100))


@pytest.fixture
def hostile(tmp_path):
    """A deck of cards that each try one thing a sandbox must stop, plus ordinary cards."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    secret = home / ".ssh" / "id_rsa"
    secret.write_text("the secret key")
    listener = Listener()
    bystander = subprocess.Popen(["sleep", "600"])
    cards = deck(tmp_path, {
        "reads-home": (f"print(open({str(secret)!r}).read())", "the secret key"),
        "writes-deck": (f"open({str(tmp_path / 'cards' / 'pwned.yaml')!r}, 'w').write('x')\nprint('written')",
                        "written"),
        "connects": (f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), timeout=5)"
                     ".sendall(b'hello')\nprint('connected')", "connected"),
        "reads-env": ("import os\nprint(os.environ.get('API_TOKEN'))", "s3cret"),
        "sees-processes": (f"import os\nos.kill({bystander.pid}, 0)\nprint('seen')", "seen"),
        "writes-own-files": ("import os, tempfile\nopen('here.txt', 'w').write('1')\n"
                             "open(os.path.join(tempfile.gettempdir(), 't'), 'w').write('2')\n"
                             "print(open('here.txt').read() + open(os.path.join(tempfile.gettempdir(), 't')).read())",
                             "12"),
        "saves-a-model": ("model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])\n"
                          "model.save('m.keras')\nprint(tf.keras.models.load_model('m.keras').output_shape)",
                          "(None, 1)"),
    })
    try:
        yield tmp_path, cards, {"HOME": str(home), "API_TOKEN": "s3cret"}, listener, secret
    finally:
        bystander.kill()
        bystander.wait()
        listener.sock.close()


ESCAPES = ("reads-home", "writes-deck", "connects", "reads-env", "sees-processes")


def test_hostile_cards_are_blocked_by_default(hostile):
    root, cards, env, listener, secret = hostile
    proc = tfcards("verify", "--no-cache", "--jobs", "2", "--report", "r.json", cwd=root, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "sandboxed)" in proc.stdout and "not sandboxed" not in proc.stdout
    got = statuses(root / "r.json")
    assert {c: got[c][0] for c in ESCAPES} == {c: "failed" for c in ESCAPES}, got
    assert got["writes-own-files"] == got["saves-a-model"] == ("passed", "")
    assert not (cards / "pwned.yaml").exists()
    assert listener.heard == []
    assert got["reads-home"][1].startswith("raised FileNotFoundError")  # not there at all
    assert got["writes-deck"][1].startswith("raised FileNotFoundError")
    assert got["sees-processes"][1].startswith("raised ProcessLookupError")
    assert got["reads-env"][1] == "output differs from 'output'"
    assert "+the secret key" not in proc.stderr and "+s3cret" not in proc.stderr  # the diffs' actual lines


def test_hostile_cards_succeed_under_no_sandbox(hostile):
    """The same cards without the sandbox: each escape works, so the flag is not a no-op."""
    root, cards, env, listener, secret = hostile
    proc = tfcards("verify", "--no-cache", "--jobs", "2", "--no-sandbox", "--report", "r.json", cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "not sandboxed)" in proc.stdout
    assert {status for status, _ in statuses(root / "r.json").values()} == {"passed"}
    assert (cards / "pwned.yaml").read_text() == "x"
    assert listener.heard == [b"hello"]


def test_a_missing_bubblewrap_is_a_warning_or_under_sandbox_bad_input(tmp_path):
    deck(tmp_path, {"one": ("print(1)", "1")})
    no_bwrap = {"PATH": str(tmp_path / "empty")}  # bwrap is looked up on PATH
    proc = tfcards("verify", "--sandbox", cwd=tmp_path, env=no_bwrap)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: --sandbox: bubblewrap (bwrap) is not installed; {sandbox.INSTALL}"]
    proc = tfcards("verify", "--no-cache", cwd=tmp_path, env=no_bwrap)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"warning: cards run without a sandbox: bubblewrap (bwrap) is not installed; {sandbox.INSTALL}"]
    assert "1 passed, 0 failed" in proc.stdout and "not sandboxed)" in proc.stdout


def test_binds_hold_the_interpreter_and_package_not_home_or_the_checkout(tmp_path, monkeypatch):
    """The checkout holds the shipped deck: only its package is bound; nothing that contains
    the home directory is bound either."""
    monkeypatch.setenv("HOME", str(tmp_path))
    args = sandbox.command(sys.executable, str(tmp_path / "run"))
    binds = [args[i + 2] for i, a in enumerate(args) if a in ("--ro-bind", "--ro-bind-try", "--bind")]
    assert sandbox.PACKAGE in binds and str(tmp_path / "run") in binds
    assert binds[-1] == str(tmp_path / "run") and args[args.index("--bind") + 1] == str(tmp_path / "run")
    for path in binds:
        assert not sandbox._inside(str(ROOT), path), path  # the checkout (and its cards/) stays out
        assert not sandbox._inside(str(tmp_path), path) or path == str(tmp_path / "run"), path
    assert "--unshare-net" in args and "--die-with-parent" in args and "--cap-drop" in args
    assert json.loads(json.dumps(sandbox.environment({"API_TOKEN": "x", "TF_X": "1", "PATH": "/bin"}, "/h"))) == {
        "TF_X": "1", "PATH": "/bin", "HOME": "/h", "TMPDIR": "/h"}
