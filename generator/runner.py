"""Drive the fork server (`zygote.py`) from the main process, which never imports TensorFlow."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Callable, Iterable

DEFAULT_MEMORY = 4 << 30  # bytes a card may add to the address space before MemoryError


class RunnerError(RuntimeError):
    """The fork server could not start or died: an environment problem, not a card's fault."""


class Runner:
    """A started fork server; `start()` early so TensorFlow imports while we load the cards."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.proc: subprocess.Popen | None = None
        self.tf_version: str | None = None
        self._stderr: list[bytes] = []

    def start(self) -> "Runner":
        if self.proc is None:
            env = dict(os.environ, TFCARDS_JOBS=str(self.jobs), TF_CPP_MIN_LOG_LEVEL="3",
                       PYTHONHASHSEED="0", PYTHONUNBUFFERED="0")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "generator.zygote"], stdin=subprocess.PIPE,
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

    def run(self, jobs: Iterable[dict], on_result: Callable[[dict], None]) -> None:
        """Send every job, then call ON_RESULT with each outcome as it completes."""
        self.start()
        jobs = list(jobs)
        writer = threading.Thread(target=self._send, args=(jobs,), daemon=True)
        writer.start()
        self._ready()
        for _ in jobs:
            line = self.proc.stdout.readline()
            if not line:
                self._died("while running cards")
            on_result(json.loads(line))

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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
