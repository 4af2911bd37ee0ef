"""`make test` and `make deck` on a fresh machine: the system packages they need are checked (and
installed as root) by one setup step they run themselves, so the README's command works alone."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "system-packages"


def make(*targets: str) -> list[str]:
    """The commands `make TARGETS` would run, without running them."""
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "--no-print-directory", *targets, "VENV=/nonexistent"],
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


@pytest.mark.parametrize("target, runs, packages", [
    ("test", "/bin/pytest", {"poppler-utils", "libpango-1.0-0", "libpangoft2-1.0-0", "chromium", "chromium-driver",
                             "bubblewrap"}),
    ("deck", "/bin/tfcards build", {"libpango-1.0-0", "libpangoft2-1.0-0", "bubblewrap"}),
])
def test_make_checks_its_system_packages_before_anything_else(target, runs, packages):
    commands = make(target)
    assert "tools/system-packages" in commands[0], commands
    assert set(commands[0].split("tools/system-packages", 1)[1].split()) == packages
    assert any(runs in c for c in commands[1:])


def test_every_package_is_present_here_so_the_step_passes_silently():
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), "system-test"], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def as_nobody() -> list[str]:
    """A command prefix that drops root (this suite runs as root in CI): the step must then print
    the install line, not try to install."""
    if os.getuid() != 0:
        return []
    assert shutil.which("setpriv"), "setpriv (util-linux) drops root for this test"
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_a_missing_package_without_root_prints_the_one_install_line_and_fails():
    proc = subprocess.run([*as_nobody(), str(SCRIPT), "bubblewrap", "tfcards-no-such-package", "libpango-1.0-0"],
                          capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == ("missing system packages; install them with: "
                           "sudo apt-get install -y tfcards-no-such-package\n")


def test_ci_runs_the_readme_command_alone():
    lines = [l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l and not l.startswith("#")]
    assert lines[-1] == "make test" and not any("apt-get" in l for l in lines)
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"make test +# .*system packages", readme)
