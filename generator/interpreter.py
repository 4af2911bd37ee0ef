"""Which Python runs the cards, and what it offers: read from package metadata, never by
importing TensorFlow (a probe costs one interpreter start; the main venv's costs nothing)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

from .errors import CardError

TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos",
                    "tf-nightly", "tf-nightly-cpu")
# Runs in the probed interpreter: the standard library only, any Python 3.
PROBE = """
import json, sys
from importlib import metadata
def version(names):
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return None
print(json.dumps({"python": sys.version, "tensorflow": version(%r), "keras": version(["keras"])}))
""" % (list(TF_DISTRIBUTIONS),)


@dataclass(frozen=True)
class Interpreter:
    """An interpreter that can run cards, with the versions that decide their outcomes."""

    python: str  # the executable
    python_version: str
    tensorflow: str
    keras: str


@lru_cache(maxsize=None)
def probe(python: str | None = None) -> Interpreter:
    """The interpreter PYTHON (default: this one); a user error if it is missing, is not
    Python, or has no TensorFlow."""
    executable = python if python is None or os.sep in python else shutil.which(python)
    if python is None or (executable and os.path.abspath(executable) == os.path.abspath(sys.executable)):
        info = json.loads(_run_probe_here())  # this interpreter: no need to start another
        executable = sys.executable
    else:
        if executable is None or not os.path.isfile(executable):
            raise CardError(f"--python {python!r}: no such interpreter")
        if not os.access(executable, os.X_OK):
            raise CardError(f"--python {python!r}: not executable")
        try:
            proc = subprocess.run([executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
            info = json.loads(proc.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            raise CardError(f"--python {python!r}: not a Python interpreter (it did not answer the "
                            "version probe)") from None
        executable = os.path.abspath(executable)
    if not info.get("tensorflow"):
        short = info["python"].split()[0]
        raise CardError(f"--python {python or executable!r}: has no TensorFlow (Python {short}); "
                        "install tensorflow there first")
    return Interpreter(executable, info["python"], info["tensorflow"], info.get("keras") or "not-installed")


def _run_probe_here() -> str:
    """The probe's answer for this interpreter, without starting another."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(PROBE, {})
    return out.getvalue()
