"""Drive the fork server (`zygote.py`) from the main process, which never imports TensorFlow."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from typing import Callable, Iterable

DEFAULT_MEMORY = 4 << 30  # bytes a card may add to the address space before MemoryError


class RunnerError(RuntimeError):
    """The fork server could not start or died: an environment problem, not a card's fault."""


class Runner:
    """A started fork server; `start()` early so TensorFlow imports while we load the cards."""

    def __init__(self, jobs: int, python: str | None = None) -> None:
        self.jobs = max(1, jobs)
        self.python = python or sys.executable
        self.proc: subprocess.Popen | None = None
        self.tf_version: str | None = None
        self._stderr: list[bytes] = []
        self._tmp: str | None = None  # every card's working directory lives below it

    def start(self) -> "Runner":
        if self.proc is None:
            self._tmp = tempfile.mkdtemp(prefix="tfcards-run-")
            env = dict(os.environ, TFCARDS_JOBS=str(self.jobs), TF_CPP_MIN_LOG_LEVEL="3",
                       PYTHONHASHSEED="0", PYTHONUNBUFFERED="0", TFCARDS_TMPDIR=self._tmp)
            self.proc = subprocess.Popen(
                [self.python, "-m", "generator.zygote"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            # drain stderr in the background so TensorFlow's import chatter can't block it
            threading.Thread(target=lambda: self._stderr.extend(self.proc.stderr), daemon=True).start()
        return self

    def _ready(self) -> None:
        if self.tf_version is None:
            line = self.proc.stdout.readline()
            if not line:
                self._died("while importing TensorFlow")
            self.tf_version = json.loads(line)["tensorflow"]

    def run(self, jobs: Iterable[dict], on_result: Callable[[dict], None],
            on_start: Callable[[str], None] | None = None) -> None:
        """Send every job, then call ON_RESULT with each outcome as it completes (and ON_START
        with a job's key when it starts running)."""
        self.start()
        jobs = list(jobs)
        writer = threading.Thread(target=self._send, args=(jobs,), daemon=True)
        writer.start()
        self._ready()
        done = 0
        while done < len(jobs):
            line = self.proc.stdout.readline()
            if not line:
                self._died("while running cards")
            message = json.loads(line)
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
                 on_died: Callable[[RunnerError], None] | None = None, python: str | None = None) -> None:
        super().__init__(jobs, python)
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
        """Queue JOB (a zygote job line); its outcome arrives through ON_RESULT."""
        self.start()
        with self._lock:
            try:
                self.proc.stdin.write((json.dumps(job) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):  # died (or closed): the reader reports it
                pass

    def _read(self) -> None:
        try:
            self._ready()
            self.ready.set()
            for line in self.proc.stdout:
                message = json.loads(line)
                if "started" not in message:
                    self._on_result(message)
            self._died("while serving cards")
        except RunnerError as e:
            if self._on_died is not None and not self._closing:
                self._on_died(e)
        finally:
            self.ready.set()

    def close(self) -> None:
        self._closing = True
        super().close()
