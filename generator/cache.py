"""Remember what a card's code did, so an unchanged card is never run twice.

We cache the run's outcome (stdout, exception), not the verdict: the verdict is recomputed
from it on every run, so editing a card's expectations or tolerance costs no re-run while
still changing the verdict. The key covers everything that can change the outcome: setup,
code, timeout, memory cap, the interpreter's TensorFlow, Keras and Python versions (and those of
the modules a card `requires`) and the runner's code (so outcomes under `--python` another
interpreter are kept apart). Looking a key up never imports TensorFlow.

The cache belongs to the user, not to a deck: it lives in the user's cache directory, and each
entry is signed with an HMAC under a key only this user holds, so a cache that came with a deck
(or any file someone else wrote) is never believed. An entry that is unsigned, signed by
another key, malformed or oversized is a miss: the card runs again. See docs/security.md.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
import tempfile
from functools import lru_cache
from pathlib import Path

from . import channel
from .cards import Card
from .errors import CardError
from .interpreter import Interpreter

FORMAT = 2  # 2: signed entries in the user's cache directory
KEY_ENV = "TFCARDS_CACHE_KEY"  # a secret shared by the runs that may share a cache (CI)
KEY_FILE = "key"  # in default_directory(), never in a --cache-dir: a folder from elsewhere brings no key
MIN_SECRET = 32  # characters of TFCARDS_CACHE_KEY: a short secret can be guessed
MAX_TEXT = 2 << 20  # an entry's bytes, its figures aside
MAX_FIGURE = channel.FIGURE_CAP * 4 // 3 + 4  # one figure as the entry holds it: base64 of a PNG the channel allows
MAX_ENTRY = MAX_TEXT + channel.FIGURES_MAX * MAX_FIGURE  # no entry file is larger: about 23 MiB
_DIGEST = re.compile(r"[0-9a-f]{64}\Z")
_MAC = re.compile(rb"[0-9a-f]{64}\Z")


def default_directory() -> Path:
    """The user's cache directory for tfcards (`~/.cache/tfcards` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("tfcards"))


@lru_cache(maxsize=None)
def runner_version() -> str:
    """A digest of the code that runs cards: changing the runner invalidates old outcomes."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("zygote.py", "runner.py", "channel.py", "apinames.py", "figures.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def api_key(name: str, interpreter: Interpreter) -> str:
    """The key of one name lookup (`tf.lite.Optimize.DEFAULT` in TensorFlow 2.21.0)."""
    material = json.dumps({"format": FORMAT, "api": name, "tensorflow": interpreter.tensorflow,
                           "keras": interpreter.keras, "runner": runner_version()}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def card_key(card: Card, memory: int, interpreter: Interpreter) -> str:
    material = {
        "format": FORMAT, "setup": card.setup, "code": card.code, "timeout": card.timeout,
        "memory": memory, "tensorflow": interpreter.tensorflow, "keras": interpreter.keras,
        "python": interpreter.python_version, "runner": runner_version(),
    }
    if card.requires:  # the versions of the modules it needs (LiteRT); absent keeps other keys as they were
        found = dict(interpreter.modules)
        material["requires"] = {m: found.get(m) for m in card.requires}
    material = json.dumps(material, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


class Cache:
    """Outcomes stored as one small signed JSON file per key under DIRECTORY.

    A file holds the HMAC-SHA256 of its JSON body in hex, a newline, then the body
    `{"key": ..., "outcome": ...}` (or `"value"`). SECRET signs; by default TFCARDS_CACHE_KEY,
    else the user's key file, created on first use.
    """

    def __init__(self, directory: Path | str, secret: bytes | None = None) -> None:
        self.directory = Path(directory)
        self._secret = secret

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = user_secret()
        return self._secret

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not _DIGEST.match(key):
            raise ValueError(f"refusing cache key {key!r:.80}: not a SHA-256 digest tfcards computed")
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        outcome = self._read(key).get("outcome")
        return outcome if _valid_outcome(outcome) else None

    def get_value(self, key: str) -> dict | None:
        """A stored name lookup's answer (`{"why": None or str}`), or None."""
        value = self._read(key).get("value")
        return value if _valid_value(value) else None

    def put(self, key: str, outcome: dict) -> None:
        """Store OUTCOME if it is a property of the code, not of the moment (no timeouts or
        kills), and fits the schema and the size bound; else it is simply not remembered."""
        if _valid_outcome(outcome):
            self._write(key, {"key": key, "outcome": outcome})

    def put_value(self, key: str, value: dict) -> None:
        if _valid_value(value):
            self._write(key, {"key": key, "value": value})

    def _read(self, key: str) -> dict:
        """The entry stored under KEY, or {} if it is missing, unsigned, someone else's or too large."""
        path = self._path(key)
        try:  # no FIFO, device or symlink can make this block or read elsewhere
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return {}
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY:
                return {}
            data = os.read(fd, info.st_size)  # (a buffer of MAX_ENTRY would cost more than the HMAC)
        finally:
            os.close(fd)
        mac, _, body = data.partition(b"\n")
        if not _MAC.match(mac) or not hmac.compare_digest(mac, self._sign(body)):
            return {}
        try:
            entry = json.loads(body)
        except ValueError:  # signed, so only a bug or the holder of a shared key wrote this
            return {}
        if not isinstance(entry, dict) or entry.get("key") != key or _text_size(body, entry) > MAX_TEXT:
            return {}
        return entry

    def _write(self, key: str, entry: dict) -> None:
        path = self._path(key)
        body = json.dumps(entry).encode()
        if _text_size(body, entry) > MAX_TEXT:
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.parent.is_symlink():  # a shard that points elsewhere is not ours to write through
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(self._sign(body) + b"\n" + body)
        os.replace(tmp, path)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest().encode()


def _text_size(body: bytes, entry: dict) -> int:
    """An entry's size without its figures (base64 is JSON-encoded as itself); the schema
    bounds the figures."""
    outcome = entry.get("outcome")
    figures = outcome.get("figures") if isinstance(outcome, dict) else None
    return len(body) - (sum(len(f) for f in figures if isinstance(f, str)) if isinstance(figures, list) else 0)


def user_secret() -> bytes:
    """TFCARDS_CACHE_KEY if set, else this user's key file (created, mode 0600, on first use)."""
    shared = os.environ.get(KEY_ENV)
    if shared:  # set but empty (a CI secret a fork's build cannot see) is unset
        if len(shared) < MIN_SECRET:
            raise CardError(f"{KEY_ENV} is {len(shared)} characters long; a cache key needs at least "
                            f"{MIN_SECRET} (e.g. `openssl rand -hex 32`)")
        return shared.encode()
    path = default_directory() / KEY_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex())  # what secrets.token_hex does, without its imports
        try:  # appears complete or not at all; the first of two racing runs wins, both read it
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise CardError(f"cannot read the cache key ({e.strerror}); remove it to make a new one", path) from None
    with os.fdopen(fd) as f:
        info = os.fstat(f.fileno())
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o077):
            raise CardError(f"the cache key is readable or writable by others (mode "
                            f"{stat.S_IMODE(info.st_mode):04o}); remove it to make a new one", path)
        secret = f.read(1024).strip()
    if not re.fullmatch(r"[0-9a-f]{64}", secret):
        raise CardError("the cache key is not 64 hex digits; remove it to make a new one", path)
    return secret.encode()


# --- what a stored outcome may hold: exactly what the runner accepts from the fork server ----
# (channel.check_outcome), and only a completed run: a timeout or a kill is not a property of
# the code. One schema for both ways in, so a field the channel gains is cached from then on.

def _valid_outcome(outcome) -> bool:
    if not isinstance(outcome, dict) or outcome.get("status") != "completed":
        return False
    try:
        channel.check_outcome(outcome, {})
    except channel.Malformed:
        return False
    return True


def _valid_value(value) -> bool:
    return isinstance(value, dict) and set(value) == {"why"} and (value["why"] is None or isinstance(value["why"], str))
