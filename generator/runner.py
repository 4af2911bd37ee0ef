"""Drive the fork server (`zygote.py`) from the main process, which never imports TensorFlow.

Every line the server sends is checked (`channel.check_outcome`) against the jobs this side
sent and not yet heard of: one outcome per job, known fields only. A line that breaks that is
a RunnerError naming what was wrong, never a traceback.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from typing import Callable, Iterable

from . import channel, sandbox as confine

DEFAULT_MEMORY = 4 << 30  # bytes a card may add to the address space before MemoryError


class RunnerError(RuntimeError):
    """The fork server could not start or died: an environment problem, not a card's fault."""


class Runner:
    """A started fork server; `start()` early so TensorFlow imports while we load the cards.
    With SANDBOX it runs confined by bubblewrap (sandbox.py), and so does every card."""

    def __init__(self, jobs: int, python: str | None = None, sandbox: bool = False) -> None:
        self.jobs = max(1, jobs)
        self.python = python or sys.executable
        self.sandbox = sandbox
        self.proc: subprocess.Popen | None = None
        self.tf_version: str | None = None
        self._stderr: list[bytes] = []
        self._tmp: str | None = None  # every card's working directory lives below it
        self._jobs: dict[str, dict] = {}  # key -> job line, for each job sent
        self._waiting: Counter[str] = Counter()  # key -> outcomes still owed

    def start(self) -> "Runner":
        if self.proc is None:
            self._tmp = tempfile.mkdtemp(prefix="tfcards-run-")
            env = dict(os.environ, TFCARDS_JOBS=str(self.jobs), TF_CPP_MIN_LOG_LEVEL="3",
                       PYTHONHASHSEED="0", PYTHONUNBUFFERED="0", TFCARDS_TMPDIR=self._tmp)
            command = [self.python, "-m", "generator.zygote"]
            if self.sandbox:
                env = confine.environment(env, self._tmp)
                confine.seed_home(self._tmp)
                command = confine.command(self.python, self._tmp) + command
            self.proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            # drain stderr in the background so TensorFlow's import chatter can't block it
            threading.Thread(target=lambda: self._stderr.extend(self.proc.stderr), daemon=True).start()
        return self

    def _ready(self) -> None:
        if self.tf_version is None:
            line = self.proc.stdout.readline(channel.LINE_CAP + 1)
            if not line:
                self._died("while importing TensorFlow")
            message = self._parse(line)
            if message.get("ready") is not True or not isinstance(message.get("tensorflow"), str):
                raise self._malformed("a first line that is not {ready, tensorflow}", line)
            self.tf_version = message["tensorflow"][:64]

    def _expect(self, job: dict) -> None:
        """Note that JOB was sent: one outcome is owed for it."""
        if "cancel" not in job:
            self._jobs[job["key"]] = job
            self._waiting[job["key"]] += 1

    def _message(self, line: bytes) -> dict:
        """One line from the server, checked: `{"started": key}` or an outcome owed to us."""
        message = self._parse(line)
        if "started" in message:
            if set(message) != {"started"} or not self._waiting.get(message["started"]):
                raise self._malformed("a start of a job it was not given", line)
            return message
        key = message.get("key")
        if not isinstance(key, str) or not self._waiting.get(key):
            raise self._malformed("an outcome of a job it was not given (or twice)", line)
        try:
            channel.check_outcome(message, self._jobs[key])
        except channel.Malformed as e:
            raise self._malformed(f"an outcome that breaks the schema ({e})", line) from None
        self._waiting[key] -= 1
        if not self._waiting[key]:  # answered: forget it (serve sends a job per edit, for hours)
            del self._waiting[key], self._jobs[key]
        return message

    def _parse(self, line: bytes) -> dict:
        if len(line) > channel.LINE_CAP:
            raise self._malformed(f"a line longer than {channel.LINE_CAP} bytes", line)
        if not line.endswith(b"\n"):  # cut short: the server died while writing it
            self._died("in the middle of a line")
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            raise self._malformed("a line that is not JSON", line) from None
        if not isinstance(message, dict):
            raise self._malformed("a line that is not a JSON object", line)
        return message

    def _malformed(self, what: str, line: bytes) -> RunnerError:
        line = line.rstrip(b"\n")
        shown = line[:60].decode("utf-8", "backslashreplace").encode("unicode_escape").decode("ascii")
        return RunnerError(f"the TensorFlow runner sent {what}: {shown}{'...' if len(line) > 60 else ''}")

    def run(self, jobs: Iterable[dict], on_result: Callable[[dict], None],
            on_start: Callable[[str], None] | None = None) -> None:
        """Send every job, then call ON_RESULT with each outcome as it completes (and ON_START
        with a job's key when it starts running)."""
        self.start()
        jobs = list(jobs)
        for job in jobs:
            self._expect(job)
        writer = threading.Thread(target=self._send, args=(jobs,), daemon=True)
        writer.start()
        self._ready()
        done = 0
        while done < len(jobs):
            line = self.proc.stdout.readline(channel.LINE_CAP + 1)
            if not line:
                self._died("while running cards")
            message = self._message(line)
            if "started" in message:
                if on_start is not None:
                    on_start(message["started"])
                continue
            done += 1
            on_result(message)

    def _send(self, jobs: list[dict]) -> None:
        try:
            for job in jobs:
                self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.close()
        except BrokenPipeError:  # the server died; run() reports it
            pass

    def _died(self, when: str) -> None:
        self.proc.wait()
        tail = b"".join(self._stderr).decode("utf-8", "replace").strip().splitlines()[-15:]
        raise RunnerError(f"the TensorFlow runner exited {when} (code {self.proc.returncode}):\n"
                          + "\n".join(tail))

    def close(self) -> None:
        """Stop the server (it kills its running cards and removes their directories), then
        remove the run's directory whatever state it was left in (Ctrl-C, a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class WarmRunner(Runner):
    """A fork server kept warm across edits (`tfcards serve`): jobs are submitted one at a time,
    whenever they arise, and each outcome is handed to ON_RESULT from a reader thread.

    `Runner.run` sends a batch and closes stdin; this one keeps stdin open, so the zygote's
    loop (which reads job lines until EOF) keeps waiting for more. ON_DIED hears, once, of a
    server that exited (an environment problem: cards that crash only kill their own child).
    """

    def __init__(self, jobs: int, on_result: Callable[[dict], None],
                 on_died: Callable[[RunnerError], None] | None = None, python: str | None = None,
                 sandbox: bool = False) -> None:
        super().__init__(jobs, python, sandbox)
        self._on_result = on_result
        self._on_died = on_died
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self.ready = threading.Event()
        self._closing = False

    def start(self) -> "WarmRunner":
        with self._lock:
            if self.proc is None:
                super().start()
                self._reader = threading.Thread(target=self._read, daemon=True, name="tfcards-warm-runner")
                self._reader.start()
        return self

    def submit(self, job: dict) -> None:
        """Queue JOB (a zygote job line, or `{"cancel": key}`); its outcome arrives through
        ON_RESULT (a cancelled job's says `cancelled`)."""
        self.start()
        with self._lock:
            self._expect(job)
            try:
                self.proc.stdin.write((json.dumps(job) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):  # died (or closed): the reader reports it
                pass

    def _read(self) -> None:
        try:
            self._ready()
            self.ready.set()
            while line := self.proc.stdout.readline(channel.LINE_CAP + 1):
                with self._lock:
                    message = self._message(line)
                if "started" not in message:
                    self._on_result(message)
            self._died("while serving cards")
        except RunnerError as e:  # died, or sent a malformed line: either way the server is done
            if self.proc.poll() is None:
                self.proc.kill()
            if self._on_died is not None and not self._closing:
                self._on_died(e)
        finally:
            self.ready.set()

    def close(self) -> None:
        self._closing = True
        super().close()
