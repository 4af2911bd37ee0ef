"""Confine the fork server, and so every card it forks, with bubblewrap (`bwrap`).

Why: verifying a deck runs its code. Inside the sandbox a card has no network (a network
namespace of its own: the machine's loopback servers are out of reach), sees a read-only
filesystem made of only what the interpreter needs (the system's /usr, the Python prefix, its
site-packages, tfcards' own package), a fresh /tmp, and one writable directory: the run's own
scratch directory, where each card gets its working directory. The user's home, the deck's
sources and the rest of the machine are simply not there. Its processes live in their own PID
namespace (they cannot signal or inspect the user's other processes), keep no capabilities (even
when tfcards runs as root), and die with tfcards. See docs/security.md, section 1.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from typing import Mapping

INSTALL = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install "
           "bubblewrap`), or run a deck you trust with --no-sandbox")
# What the interpreter and TensorFlow read from /etc: the dynamic loader's cache, user and host
# names, certificates, time zone, fonts. Not the rest (shadow files, ssh keys, configs).
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "hosts",
       "host.conf", "gai.conf", "localtime", "timezone", "ssl", "ca-certificates", "ca-certificates.conf",
       "fonts", "alternatives", "mime.types", "os-release")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Environment variables a run keeps (the rest, tokens and keys included, stay outside).
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONUNBUFFERED",
            "PYTHONWARNINGS", "CUDA_VISIBLE_DEVICES")
ENV_PREFIXES = ("LC_", "TF_", "TFCARDS_", "KERAS_", "OMP_", "MKL_", "OPENBLAS_")
# Runs in the confined interpreter (PYTHON_PATHS): where it keeps its standard library and packages.
PATHS_PROBE = ("import json, site, sys; print(json.dumps(sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, "
               "sys.base_exec_prefix, *[p for p in sys.path if p]})))")
PACKAGE = os.path.dirname(os.path.abspath(__file__))  # tfcards' own package: the fork server's code


@lru_cache(maxsize=None)
def unavailable() -> str | None:
    """Why no run can be confined on this machine, or None when bubblewrap works (asked once)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        proc = subprocess.run([bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                               "--unshare-net", "--unshare-pid", "--cap-drop", "ALL", "true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap does not start ({e})"
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return f"bubblewrap cannot create a sandbox here ({why})"
    return None


def command(python: str, writable: str) -> list[str]:
    """The bwrap command line (up to `--`) that confines PYTHON, with WRITABLE its only writable
    directory and the working directory the one holding tfcards' package."""
    args = [shutil.which("bwrap") or "bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL"]
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC:
        if os.path.lexists(f"/etc/{name}"):
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]  # core counts
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in _read_only(python):
        args += ["--ro-bind", path, path]
    args += ["--bind", writable, writable, "--chdir", os.path.dirname(PACKAGE), "--"]
    return args


def environment(env: Mapping[str, str], home: str) -> dict[str, str]:
    """ENV as a confined run sees it: the variables that shape TensorFlow and Python, HOME and
    TMPDIR in its scratch directory, nothing else."""
    kept = {k: v for k, v in env.items() if k in ENV_KEEP or k.startswith(ENV_PREFIXES)}
    return dict(kept, HOME=home, TMPDIR=home)


def seed_home(home: str) -> None:
    """Copy matplotlib's font list (Keras imports matplotlib) into HOME, the confined run's home:
    without it every run would spend seconds rebuilding it, as the user's own is out of reach."""
    config = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    try:
        lists = [name for name in os.listdir(config) if name.startswith("fontlist-") and name.endswith(".json")]
    except OSError:
        return
    target = os.path.join(home, ".cache", "matplotlib")
    os.makedirs(target, exist_ok=True)
    for name in lists:
        shutil.copyfile(os.path.join(config, name), os.path.join(target, name))


def _read_only(python: str) -> list[str]:
    """Every directory to bind read-only for PYTHON: its prefixes and package directories,
    the executable itself and tfcards' package, each also under its real path, and never the
    home directory itself, the root, or a directory that holds tfcards' sources (a checkout of
    tfcards holds the shipped deck too: only its package is bound)."""
    wanted = [python, PACKAGE] + _python_paths(python)
    source_root = os.path.dirname(PACKAGE)
    checkout = not os.path.basename(source_root).endswith(("site-packages", "dist-packages"))
    home = os.path.realpath(os.path.expanduser("~"))
    out: list[str] = []
    for path in wanted:
        for p in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
            if not os.path.exists(p) or p in ("/", home) or _inside(home, p):
                continue
            if checkout and _inside(source_root, p):
                continue  # a checkout's root (on sys.path by an editable install): its deck stays out
            if any(p.startswith(s + "/") or p == s for s in SYSTEM) and not os.path.islink(p):
                continue  # already there
            out.append(p)
    return [p for p in sorted(set(out)) if not any(q != p and _inside(p, q) for q in out)]


def _inside(inner: str, outer: str) -> bool:
    """Whether INNER is OUTER or below it."""
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


@lru_cache(maxsize=None)
def _python_paths(python: str) -> list[str]:
    """PYTHON's prefixes and import path, without PYTHONPATH (the user's own, not the interpreter's)."""
    if os.path.abspath(python) == os.path.abspath(sys.executable):  # this one: no process to start
        user = {os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
        return sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                       *(os.path.abspath(p) for p in sys.path if p)} - user - {os.getcwd()})
    try:
        proc = subprocess.run([python, "-E", "-c", PATHS_PROBE], capture_output=True, text=True, timeout=60,
                              cwd="/")
        return json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []  # the runner then fails to start, and says why
