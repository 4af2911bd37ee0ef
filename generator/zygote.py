"""The fork server: import TensorFlow once, then run each card in a forked child of its own.

Why: `import tensorflow` costs seconds, so a fresh interpreter per card is too slow, and one
shared interpreter lets cards leak state into each other. A child forked from a process that
imported TensorFlow but never ran an op starts in milliseconds with pristine state (no eager
context, no thread pools yet, seeds freshly set), and whatever it does dies with it.

Protocol (JSON lines): jobs arrive on stdin, `{"key", "setup", "code", "timeout", "memory"}`
(or `{"key", "resolve": [names]}` to look TensorFlow names up, see apinames.py), and
`{"cancel": key}` kills that job (or drops it if it has not started); results leave on the
original stdout, `{"key", "status", "stdout", "stderr", "exception", "warnings", ...}` in
completion order, one per job, each job announced by `{"started": key}` when its child forks.
The first line out is `{"ready": true, "tensorflow": "<version>"}`.

The trust boundary (docs/security.md, section 2): a child sees only its own stdin (/dev/null),
stdout, stderr and result pipe (fd 3); its result is one message checked by `channel.py`; the
key, the status and the captured output of every outcome come from this server's own table.
This module is run as `python -m generator.zygote` by `runner.py`; never import it in the
main process (it imports TensorFlow).
"""
from __future__ import annotations

import gc
import json
import linecache
import logging
import os
import random
import resource
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings

from generator import channel
from generator.apinames import resolve
from generator.channel import STDERR_CAP, STDERR_KEEP, STDOUT_CAP
from generator.figures import capture as capture_figures, draw_off_screen

SETUP_FILE, CODE_FILE = "<tfcards-setup>", "<tfcards-code>"
RESULT_FD = 3  # the child's result pipe, the only descriptor it has besides 0, 1 and 2


def _prepare_tensorflow():
    """Import TF and set everything a child must inherit, without creating the eager context."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    draw_off_screen()
    import numpy as np
    import tensorflow as tf

    # One thread per op: results then do not depend on how many cards run side by side
    # (reductions split across threads may round differently), and --jobs N uses N cores.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(0)  # does not create the eager context: children still fork clean
    gc.freeze()  # children's collections skip the server's objects (no collect first: 135 ms)
    return tf, np


def _prctl(option: int, value: int) -> None:
    """Linux's prctl; elsewhere nothing (the server's stdin EOF still stops it)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(option, value)
    except (OSError, AttributeError):
        pass


def _die_with_parent() -> None:
    """Get SIGKILL when our parent dies, so an interrupted run leaves no orphans."""
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _only_own_descriptors(out_w: int, err_w: int, res_w: int) -> int:
    """Make 0 /dev/null, 1 and 2 the card's output pipes and RESULT_FD its result pipe, and close
    every other descriptor the server holds (its channel to tfcards, its siblings' pipes): a card
    can then reach no channel but its own. Returns RESULT_FD."""
    import fcntl

    keep = [os.open(os.devnull, os.O_RDONLY), out_w, err_w, res_w]
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in keep]  # above 0-3: no dup2 clobbers another
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(RESULT_FD + 1, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1 << 16)
    return RESULT_FD


def _child(job: dict, tmpdir: str, out_w: int, err_w: int, res_w: int, tf, np) -> None:
    """Runs in the forked child: never returns."""
    try:
        _die_with_parent()
        os.setsid()  # own process group: a timeout kills whatever the card spawned too
        res_w = _only_own_descriptors(out_w, err_w, res_w)
        sys.stdout.reconfigure(line_buffering=True)  # a card killed at its timeout keeps what it printed
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if job.get("memory"):
            limit = _address_space() + int(job["memory"])
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.chdir(tmpdir)
        os.environ.update(HOME=tmpdir, TMPDIR=tmpdir)
        tempfile.tempdir = tmpdir
        # TensorFlow's and Keras's seeds were set in the server, where no op ever runs, so the
        # child inherits them pristine; Python's and NumPy's generators may have been drawn from
        # since (by library code), so reset them here: microseconds, where TF's path costs 12 ms.
        random.seed(0)
        np.random.seed(0)
        seen = _capture_warnings()
        value = exception = None
        if "resolve" in job:
            value = {name: why if why is None else channel.cut(why, channel.WARNING_CAP, "lookup answer")
                     for name, why in resolve(job["resolve"]).items()}
        else:
            exception = _run(job, tf, np)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # a card may have closed or replaced its streams
                pass
        # The one message this process sends back, every field cut to channel.py's caps here,
        # before it leaves; the server checks it against the same schema (channel.check_result).
        result: dict = {"exception": exception, "warnings": channel.cut_warnings(seen)}
        if value is not None:
            result["value"] = value
        else:
            try:  # the figures the card left open, as PNG bytes (figures.py)
                capture_figures(result)
            except Exception as e:  # saving failed on what the card drew: its failure, cut to the caps
                if result["exception"] is None:
                    result["exception"] = _describe(e)
        _send(res_w, json.dumps(result).encode())
        for fd in (0, 1, 2, res_w):  # EOF now: the server reports us before our teardown ends
            os.close(fd)
        os._exit(0)
    except BaseException:
        os._exit(70)


def _run(job: dict, tf, np) -> dict | None:
    """Run the card's setup and code; its exception (described), or None."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "tf": tf, "np": np}
    try:
        for source, filename in ((job.get("setup"), SETUP_FILE), (job.get("code"), CODE_FILE)):
            if source:
                # inspect.getsource (so AutoGraph, which converts a tf.function's Python
                # control flow) reads the card's lines from here.
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                exec(compile(source, filename, "exec", dont_inherit=True), namespace)
    except BaseException as e:  # the card's own exception is data, whatever it is
        return _describe(e)
    return None


def _send(fd: int, data: bytes) -> None:
    """Write all of DATA (a pipe write may be partial)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _capture_warnings() -> list[str]:
    """Record, as well as print, every warning and TensorFlow's deprecation log lines: the
    strict `deprecated` rule reads them from the outcome."""
    seen: list[str] = []
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = str(message).strip()
        if len(seen) <= 10 * channel.WARNINGS_MAX:  # a warning loop must not grow this list forever
            seen.append(f"{category.__name__}: {text.splitlines()[0] if text else ''}")
        show(message, category, filename, lineno, file, line)

    class Deprecations(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                text = record.getMessage().strip()
            except Exception:  # a malformed log call is not ours to report
                return
            if "deprecat" in text.lower() and len(seen) <= 10 * channel.WARNINGS_MAX:
                seen.append(text.splitlines()[0])

    warnings.showwarning = showwarning
    logging.getLogger("tensorflow").addHandler(Deprecations(logging.WARNING))
    return seen


def _describe(e: BaseException) -> dict:
    """The card's exception as the channel carries it, cut to its caps."""
    frames = [
        {"file": "setup" if f.filename == SETUP_FILE else "code", "line": f.lineno or 0,
         "name": channel.cut(str(f.name), channel.NAME_CAP - channel.NOTE_ROOM, "name")}
        for f in traceback.extract_tb(e.__traceback__)
        if f.filename in (SETUP_FILE, CODE_FILE)
    ]
    frames, dropped = channel.cut_frames(frames)
    try:
        message = str(e)
    except BaseException:
        message = "<unprintable>"
    names = [channel.cut(str(c.__name__), channel.NAME_CAP - channel.NOTE_ROOM, "name")
             for c in type(e).__mro__][:channel.MRO_MAX]
    out = {"type": names[0], "mro": names, "frames": frames,
           "message": channel.cut(message, channel.MESSAGE_CAP, "message")}
    if dropped:
        out["frames_dropped"] = dropped
    return out


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


class _Running:
    def __init__(self, job: dict, pid: int, tmpdir: str, fds: dict[int, str]) -> None:
        self.job, self.pid, self.tmpdir, self.fds = job, pid, tmpdir, fds
        self.start = time.monotonic()
        self.deadline = self.start + float(job.get("timeout", 60))
        self.data = {"stdout": bytearray(), "stderr": bytearray(), "result": bytearray()}
        self.killed: str | None = None  # timeout, flood, malformed or cancelled
        self.malformed = ""  # why its result broke the channel's schema
        self.stderr_seen = 0


def serve() -> None:
    _die_with_parent()
    _prctl(4, 0)  # PR_SET_DUMPABLE: a card (same user) cannot ptrace us or read our memory
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # ...with SIGTERM: clean up, then exit
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the protocol
    tf, np = _prepare_tensorflow()
    jobs_max = int(os.environ.get("TFCARDS_JOBS", "1"))
    proto.write(json.dumps({"ready": True, "tensorflow": tf.__version__}) + "\n")

    sel = selectors.DefaultSelector()
    os.set_blocking(0, False)
    sel.register(0, selectors.EVENT_READ, None)
    # A child's exit must wake the loop at once: its pipes may close before it can be reaped.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    pending: list[dict] = []
    running: dict[int, _Running] = {}
    exiting: list[int] = []  # reported children not yet reaped
    try:
        _loop(proto, sel, wake_r, pending, running, exiting, tf, np, jobs_max)
    finally:  # stopped or failed: leave no child and no card directory behind
        for child in running.values():
            _kill(child, "stopped")
            os.waitpid(child.pid, 0)
            shutil.rmtree(child.tmpdir, ignore_errors=True)


def _loop(proto, sel, wake_r, pending, running, exiting, tf, np, jobs_max) -> None:
    inbuf = b""
    stdin_open = True
    while stdin_open or pending or running:
        while pending and len(running) < jobs_max:
            child = _start(pending.pop(0), sel, tf, np)
            running[child.pid] = child
            proto.write(json.dumps({"started": child.job["key"]}) + "\n")
        now = time.monotonic()
        timeout = min((c.deadline for c in running.values()), default=now + 1) - now
        for key, _ in sel.select(timeout=max(0.0, min(timeout, 0.5))):
            if key.data == "wake":
                os.read(wake_r, 4096)
            elif key.data is None:
                chunk = os.read(0, 1 << 16)
                if not chunk:
                    stdin_open = False
                    sel.unregister(0)
                    continue
                inbuf += chunk
                *lines, inbuf = inbuf.split(b"\n")
                for line in lines:
                    if line.strip():
                        _take(json.loads(line), pending, running, proto)
            else:
                _read(key.data, key.fd, sel)
        now = time.monotonic()
        for child in list(running.values()):
            if child.killed is None and now > child.deadline:
                _kill(child, "timeout")
            if child.killed is None and not child.fds and child.data["result"]:
                # Finished its card and closed every pipe: report it without waiting for the
                # exit (tearing down a TensorFlow-sized address space takes tens of ms).
                del running[child.pid]
                exiting.append(child.pid)
                proto.write(json.dumps(_finish(child, 0, None)) + "\n")
                continue
            pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                for fd in list(child.fds):
                    _drain(child, fd, sel)
                del running[child.pid]
                proto.write(json.dumps(_finish(child, status, rusage)) + "\n")
        exiting = [pid for pid in exiting if not os.waitpid(pid, os.WNOHANG)[0]]
    for pid in exiting:
        os.waitpid(pid, 0)


def _take(job: dict, pending: list[dict], running: dict[int, _Running], proto) -> None:
    """A line from tfcards: a job to queue, or a cancel (kill the job's child, or drop it unstarted:
    either way its one outcome says `cancelled`)."""
    if "cancel" not in job:
        pending.append(job)
        return
    for child in running.values():
        if child.job["key"] == job["cancel"] and child.killed is None:
            _kill(child, "cancelled")
    for queued in [j for j in pending if j["key"] == job["cancel"]]:
        pending.remove(queued)
        proto.write(json.dumps({"key": queued["key"], "status": "cancelled", "seconds": 0.0,
                                "stdout": "", "stderr": ""}) + "\n")


def _start(job: dict, sel: selectors.BaseSelector, tf, np) -> _Running:
    tmpdir = tempfile.mkdtemp(prefix="tfcards-card-", dir=os.environ.get("TFCARDS_TMPDIR") or None)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in (out_r, err_r, res_r):
            os.close(fd)
        _child(job, tmpdir, out_w, err_w, res_w, tf, np)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    child = _Running(job, pid, tmpdir, {out_r: "stdout", err_r: "stderr", res_r: "result"})
    for fd in child.fds:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, child)
    return child


def _read(child: _Running, fd: int, sel: selectors.BaseSelector) -> None:
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        return
    if not chunk:
        sel.unregister(fd)
        os.close(fd)
        del child.fds[fd]
        return
    name = child.fds[fd]
    if name == "stderr":
        child.stderr_seen += len(chunk)
        room = STDERR_KEEP - len(child.data["stderr"])
        child.data["stderr"] += chunk[:max(room, 0)]
        if child.stderr_seen > STDERR_CAP and child.killed is None:
            _kill(child, "flood")
        return
    child.data[name] += chunk
    if name == "result" and len(child.data["result"]) > channel.RESULT_CAP and child.killed is None:
        child.malformed = f"more than {channel.RESULT_CAP} bytes"
        del child.data["result"][:]
        _kill(child, "malformed")
    if name == "stdout" and len(child.data["stdout"]) > STDOUT_CAP:
        del child.data["stdout"][STDOUT_CAP:]
        if child.killed is None:
            _kill(child, "flood")


def _drain(child: _Running, fd: int, sel: selectors.BaseSelector) -> None:
    """Read what the dead child left in its pipe; a grandchild holding it open is killed."""
    while fd in child.fds:
        try:
            _read(child, fd, sel)
        except BlockingIOError:
            break
        if fd in child.fds and not _readable(fd):
            sel.unregister(fd)
            os.close(fd)
            del child.fds[fd]


def _readable(fd: int) -> bool:
    import select
    return bool(select.select([fd], [], [], 0)[0])


def _kill(child: _Running, why: str) -> None:
    child.killed = why
    for target in (lambda: os.killpg(child.pid, signal.SIGKILL), lambda: os.kill(child.pid, signal.SIGKILL)):
        try:
            target()
        except ProcessLookupError:
            pass


def _finish(child: _Running, status: int, rusage) -> dict:
    try:
        os.killpg(child.pid, signal.SIGKILL)  # leftovers the card spawned
    except (ProcessLookupError, PermissionError):
        pass
    shutil.rmtree(child.tmpdir, ignore_errors=True)
    out = {
        "key": child.job["key"],
        "seconds": round(time.monotonic() - child.start, 4),
        "stdout": child.data["stdout"].decode("utf-8", "backslashreplace"),
        "stderr": child.data["stderr"].decode("utf-8", "backslashreplace"),
    }
    if child.stderr_seen > STDERR_KEEP:
        out["stderr"] += f"\n[... {child.stderr_seen - STDERR_KEEP} more bytes of stderr dropped]"
    if child.killed:
        out["status"] = child.killed
    elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and child.data["result"]:
        try:
            result = channel.check_result(bytes(child.data["result"]), child.job)
        except channel.Malformed as e:
            child.malformed = str(e)
            out["status"] = "malformed"
        else:  # only the child's own fields: key, status and output are ours
            out["status"] = "completed"
            out.update((name, result[name]) for name in channel.RESULT_FIELDS if name in result)
    elif os.WIFSIGNALED(status):
        out["status"] = "crashed"
        out["signal"] = signal.Signals(os.WTERMSIG(status)).name
    else:
        out["status"] = "crashed"
        out["exit_code"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    if out["status"] == "malformed":
        out["reason"] = child.malformed
    return out


if __name__ == "__main__":
    serve()
