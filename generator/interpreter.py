"""Which Python runs the cards, and what it offers: read from package metadata and import
specs, never by importing TensorFlow (a probe costs one interpreter start; this one's nothing)."""
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
# Runs in the probed interpreter: the standard library only, any Python 3. MODULES (the cards'
# `requires`) are looked up with find_spec on their top-level package, which imports nothing; the
# version is that of the distribution providing it ("" if none says so).
PROBE = """
import json, sys
from importlib import metadata, util
def version(names):
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return None
def importable(modules):
    found = {}
    providers = metadata.packages_distributions() if modules else {}
    for module in modules:
        top = module.partition(".")[0]
        try:
            spec = util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            found[module] = version(providers.get(top, [])) or ""
    return found
print(json.dumps({"python": sys.version, "tensorflow": version(%r), "keras": version(["keras"]),
                  "modules": importable(MODULES)}))
""" % (list(TF_DISTRIBUTIONS),)


@dataclass(frozen=True)
class Interpreter:
    """An interpreter that can run cards, with the versions that decide their outcomes."""

    python: str  # the executable
    python_version: str
    tensorflow: str
    keras: str
    modules: tuple[tuple[str, str], ...] = ()  # (module, version) of the asked-for modules it can import

    def missing(self, modules: tuple[str, ...]) -> list[str]:
        """Those of MODULES this interpreter cannot import (each must have been probed for)."""
        found = dict(self.modules)
        return [m for m in modules if m not in found]


def probe(python: str | None = None, modules: "tuple[str, ...] | list[str]" = ()) -> Interpreter:
    """The interpreter PYTHON (default: this one), with which of MODULES it can import; a user
    error if it is missing, is not Python, or has no TensorFlow."""
    return _probe(python, tuple(sorted(set(modules))))


@lru_cache(maxsize=None)
def _probe(python: str | None, modules: tuple[str, ...]) -> Interpreter:
    code = f"MODULES = {list(modules)!r}\n" + PROBE
    executable = python if python is None or os.sep in python else shutil.which(python)
    if python is None or (executable and os.path.abspath(executable) == os.path.abspath(sys.executable)):
        info = json.loads(_run_probe_here(code))  # this interpreter: no need to start another
        executable = sys.executable
    else:
        if executable is None or not os.path.isfile(executable):
            raise CardError(f"--python {python!r}: no such interpreter")
        if not os.access(executable, os.X_OK):
            raise CardError(f"--python {python!r}: not executable")
        try:
            proc = subprocess.run([executable, "-c", code], capture_output=True, text=True, timeout=60)
            info = json.loads(proc.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            raise CardError(f"--python {python!r}: not a Python interpreter (it did not answer the "
                            "version probe)") from None
        executable = os.path.abspath(executable)
    if not info.get("tensorflow"):
        short = info["python"].split()[0]
        raise CardError(f"--python {python or executable!r}: has no TensorFlow (Python {short}); "
                        "install tensorflow there first")
    return Interpreter(executable, info["python"], info["tensorflow"], info.get("keras") or "not-installed",
                       tuple(sorted(info.get("modules", {}).items())))


def _run_probe_here(code: str) -> str:
    """The probe's answer for this interpreter, without starting another."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})
    return out.getvalue()
