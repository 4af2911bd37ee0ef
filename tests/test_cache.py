"""The outcome cache: hits without TensorFlow, misses on any change that matters, and nothing
believed that this user did not sign: tampered, foreign, malformed or oversized entries are misses."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import stat
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.verify as verify_module
from generator.cache import MAX_ENTRY, MAX_FIGURE, MAX_TEXT, Cache, api_key, card_key, user_secret
from generator.channel import FIGURE_CAP, FIGURES_MAX, PNG
from generator.cli import main
from generator.errors import CardError
from generator.interpreter import probe
from generator.load import load_cards
from generator.runner import DEFAULT_MEMORY
from generator.verify import verify

DECK = """
topic: Cache
cards:
  - id: one
    front: q
    back: a
    code: print(tf.constant(1) + 1)
    output: tf.Tensor(2, shape=(), dtype=int32)
  - id: two
    front: q
    back: a
    code: print("two")
    output: two
"""


class NoRunner:
    """Stands in for the fork server to prove a run never needed it (TensorFlow is not touched)."""

    def __init__(self, *a, **k):
        raise AssertionError("a fully cached run started the TensorFlow runner")


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    (root / "cards").mkdir()
    (root / "cards" / "c.yaml").write_text(DECK.lstrip())
    cache = Cache(root / "cache")
    cards = load_cards([root / "cards"])
    first = verify(cards, jobs=2, cache=cache)
    assert [v.status for v in first.verdicts] == ["passed", "passed"]
    assert not any(v.cached for v in first.verdicts)
    return cards, cache


def test_fully_cached_run_needs_no_tensorflow(warm, monkeypatch):
    cards, cache = warm
    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    report = verify(cards, cache=cache)
    assert [(v.status, v.cached) for v in report.verdicts] == [("passed", True), ("passed", True)]
    assert "tensorflow" not in sys.modules


def test_changed_expectation_changes_the_verdict_without_a_run(warm, monkeypatch):
    cards, cache = warm
    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    edited = [replace(cards[0], output="tf.Tensor(3, shape=(), dtype=int32)"), cards[1]]
    report = verify(edited, cache=cache)
    assert [v.status for v in report.verdicts] == ["failed", "passed"]


@pytest.mark.parametrize("change", [
    {"code": 'print("two!")'}, {"setup": "x = 1"}, {"timeout": 30.0},
])
def test_any_change_that_can_alter_the_run_misses(warm, change):
    cards, _ = warm
    here = probe()
    assert card_key(replace(cards[1], **change), DEFAULT_MEMORY, here) != card_key(cards[1], DEFAULT_MEMORY, here)


@pytest.mark.parametrize("what", ["tensorflow", "keras", "python_version", "runner"])
def test_versions_are_part_of_the_key(warm, monkeypatch, what):
    import generator.cache as cache_module
    cards, _ = warm
    here = probe()
    before = card_key(cards[1], DEFAULT_MEMORY, here)
    if what == "runner":
        monkeypatch.setattr(cache_module, "runner_version", lambda: "another")
        assert card_key(cards[1], DEFAULT_MEMORY, here) != before
    else:
        assert card_key(cards[1], DEFAULT_MEMORY, replace(here, **{what: "another"})) != before


def test_a_changed_card_reruns_alone(warm):
    cards, cache = warm
    edited = [cards[0], replace(cards[1], code='print("TWO")', output="TWO")]
    report = verify(edited, cache=cache, jobs=1)
    assert [(v.status, v.cached) for v in report.verdicts] == [("passed", True), ("passed", False)]


# --- entries that are not ours, or not whole, are misses ----------------------------------------

DIGEST = "ab" * 32
GOOD = {"key": "two", "status": "completed", "stdout": "two\n", "stderr": "", "seconds": 0.01,
        "exception": None, "warnings": []}


def plant(cache_dir: Path, key: str, body: bytes, secret: bytes | None) -> Path:
    """An entry file as an attacker or a bug could leave it: signed with SECRET, or bare JSON
    (the format before entries were signed)."""
    path = cache_dir / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    mac = b"" if secret is None else hmac.new(secret, body, hashlib.sha256).hexdigest().encode() + b"\n"
    path.write_bytes(mac + body)
    return path


def entry(outcome, key=DIGEST) -> bytes:
    return json.dumps({"key": key, "outcome": outcome}).encode()


def test_entries_round_trip_signed(tmp_path):
    cache = Cache(tmp_path)
    cache.put(DIGEST, GOOD)
    assert cache.get(DIGEST) == GOOD
    mac, _, body = next(tmp_path.glob("ab/*.json")).read_bytes().partition(b"\n")
    assert json.loads(body)["key"] == DIGEST
    assert mac == hmac.new(user_secret(), body, hashlib.sha256).hexdigest().encode()
    cache.put("cd" * 32, {**GOOD, "status": "timeout"})  # a property of the moment: not kept
    assert cache.get("cd" * 32) is None and not list(tmp_path.glob("cd/*"))
    cache.put_value("ef" * 32, {"why": None})
    assert cache.get_value("ef" * 32) == {"why": None}


@pytest.mark.parametrize("key", ["../../etc/passwd", "ab/../../x", "A" * 64, "k" * 64, "a" * 63, "a" * 65,
                                 "a" * 64 + "\n", "", None, 7])
def test_keys_are_digests_tfcards_computed_never_paths(tmp_path, key):
    cache = Cache(tmp_path / "cache")
    for call in (lambda: cache.get(key), lambda: cache.put(key, GOOD), lambda: cache.put_value(key, {"why": None})):
        with pytest.raises(ValueError, match="not a SHA-256 digest"):
            call()
    assert not (tmp_path / "cache").exists()


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda d: flip(d, len(d) - 5), id="bit-flip-in-body"),
    pytest.param(lambda d: flip(d, 3), id="bit-flip-in-signature"),
    pytest.param(lambda d: d.partition(b"\n")[2], id="signature-removed"),
    pytest.param(lambda d: d.replace(b'"two\\n"', b'"42\\n"'), id="stdout-rewritten"),
    pytest.param(lambda d: d + b" ", id="byte-appended"),
])
def test_a_tampered_entry_is_a_miss(tmp_path, tamper):
    cache = Cache(tmp_path)
    cache.put(DIGEST, GOOD)
    path = next(tmp_path.glob("ab/*.json"))
    path.write_bytes(tamper(path.read_bytes()))
    assert cache.get(DIGEST) is None


def test_an_entry_signed_with_another_key_is_a_miss(tmp_path):
    Cache(tmp_path, secret=b"a deck's own key, committed with it").put(DIGEST, {**GOOD, "stdout": "42\n"})
    assert Cache(tmp_path).get(DIGEST) is None
    assert Cache(tmp_path, secret=b"a deck's own key, committed with it").get(DIGEST)["stdout"] == "42\n"


# Each is signed with the user's own key: only the schema stands between it and the verdict.
MALFORMED = {
    "exception-without-mro": {**GOOD, "exception": {"type": "ValueError", "message": "x"}},  # KeyError before
    "exception-a-string": {**GOOD, "exception": "ValueError"},  # TypeError before
    "frames-not-a-list": {**GOOD, "exception": {"type": "E", "mro": ["E"], "message": "", "frames": 3}},
    "frame-line-a-string": {**GOOD, "exception": {"type": "E", "mro": ["E"], "message": "",
                                                  "frames": [{"file": "code", "line": "1", "name": "f"}]}},
    "seconds-a-string": {**GOOD, "seconds": "soon"},  # ValueError before
    "seconds-nan": {**GOOD, "seconds": float("nan")},
    "warnings-a-number": {**GOOD, "warnings": 7},  # TypeError before
    "stdout-a-number": {**GOOD, "stdout": 7},
    "stdout-missing": {k: v for k, v in GOOD.items() if k != "stdout"},
    "status-timeout": {**GOOD, "status": "timeout"},
    "unknown-field": {**GOOD, "verdict": "passed"},
    "nine-figures": {**GOOD, "figures": ["iVBORw0KGgo="] * 9},
    "figure-not-base64": {**GOOD, "figures": ["<svg onload=alert(1)>"]},
    "figure-too-large": {**GOOD, "figures": ["A" * (MAX_FIGURE + 4)]},
    "not-an-object": ["completed", "two"],
}


@pytest.mark.parametrize("outcome", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_entry_outside_the_schema_is_a_miss_and_is_never_written(tmp_path, outcome):
    cache = Cache(tmp_path)
    plant(tmp_path, DIGEST, entry(outcome), user_secret())
    assert cache.get(DIGEST) is None
    cache.put("cd" * 32, outcome)
    assert not (tmp_path / "cd").exists()


@pytest.mark.parametrize("value", [{}, {"why": 3}, ["why"], {"why": None, "extra": 1}, "x"])
def test_a_name_lookup_outside_the_schema_is_a_miss(tmp_path, value):
    plant(tmp_path, DIGEST, json.dumps({"key": DIGEST, "value": value}).encode(), user_secret())
    assert Cache(tmp_path).get_value(DIGEST) is None


def test_an_entry_stored_under_another_key_is_a_miss(tmp_path):
    plant(tmp_path, DIGEST, entry(GOOD, key="cd" * 32), user_secret())  # a valid entry, moved
    assert Cache(tmp_path).get(DIGEST) is None


def test_no_entry_is_larger_than_its_bound(tmp_path):
    cache = Cache(tmp_path)
    cache.put(DIGEST, {**GOOD, "stderr": "x" * MAX_TEXT})  # 2 MiB of text and then some
    assert not (tmp_path / "ab").exists()
    figures = [base64.b64encode(PNG + bytes(FIGURE_CAP - len(PNG))).decode()] * FIGURES_MAX  # the largest the channel allows
    cache.put(DIGEST, {**GOOD, "stdout": "y" * (MAX_TEXT - 4096), "figures": figures})  # at the bound: kept
    path = next(tmp_path.glob("ab/*.json"))
    assert MAX_TEXT + FIGURES_MAX * MAX_FIGURE - 4096 < path.stat().st_size <= MAX_ENTRY
    assert cache.get(DIGEST)["figures"] == figures
    with path.open("r+b") as f:  # grown past the bound (sparse: costs no disk): never read
        f.truncate(MAX_ENTRY + 1)
    assert cache.get(DIGEST) is None


def test_a_fifo_symlink_or_folder_in_place_of_an_entry_is_a_miss_without_blocking(tmp_path):
    cache = Cache(tmp_path)
    shard = tmp_path / DIGEST[:2]
    shard.mkdir()
    answers = []
    for make in (lambda p: os.mkfifo(p), lambda p: p.symlink_to("/dev/zero"), lambda p: p.mkdir()):
        path = shard / f"{DIGEST}.json"
        make(path)
        reader = threading.Thread(target=lambda: answers.append(cache.get(DIGEST)), daemon=True)
        reader.start()
        reader.join(10)
        assert not reader.is_alive(), f"reading {path} blocked"
        os.rmdir(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    assert answers == [None, None, None]


def test_an_entry_from_before_signing_is_rerun_once(tmp_path, warm):
    """FORMAT 2 changed every key, and a bare JSON entry fails the signature even where it lies."""
    cards, _ = warm
    cache = Cache(tmp_path / "cache")
    key = card_key(cards[1], DEFAULT_MEMORY, probe())
    plant(cache.directory, key, json.dumps({"key": key, "outcome": {**GOOD, "stdout": "TWO\n"}}).encode(), None)
    first = verify(cards[1:], cache=cache, jobs=1)
    again = verify(cards[1:], cache=cache, jobs=1)
    assert [(v.status, v.cached) for v in first.verdicts + again.verdicts] == [("passed", False), ("passed", True)]


# --- the key ----------------------------------------------------------------------------------

def test_the_key_is_the_users_alone(own_key, user_cache):
    secret = user_secret()
    path = user_cache / "key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.getuid()
    assert secret == path.read_bytes() and len(secret) == 64
    assert user_secret() == secret  # kept, not remade
    assert [p.name for p in user_cache.iterdir()] == ["key"]  # no temporary file left behind


def test_racing_runs_agree_on_one_key(own_key, user_cache):
    """Each process writes a whole key to a private file and links it into place: the first
    link wins, the others read the winner's key."""
    code = "from generator.cache import user_secret; print(user_secret().decode())"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parents[1]) for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and keys == {(user_cache / "key").read_text()}
    assert [p.name for p in user_cache.iterdir()] == ["key"]


@pytest.mark.parametrize("spoil, words", [
    (lambda p: p.chmod(0o644), "readable or writable by others (mode 0644)"),
    (lambda p: p.write_text("short"), "not 64 hex digits"),
    (lambda p: (p.unlink(), p.symlink_to("/etc/hostname")), "cannot read the cache key"),
])
def test_a_key_others_could_know_is_refused_with_a_located_error(own_key, user_cache, spoil, words):
    user_secret()
    spoil(user_cache / "key")
    with pytest.raises(CardError, match=re.escape(words)) as e:
        user_secret()
    assert str(user_cache / "key") in str(e.value)


def test_a_shared_key_must_be_long(monkeypatch):
    monkeypatch.setenv("TFCARDS_CACHE_KEY", "hunter2")
    with pytest.raises(CardError, match="TFCARDS_CACHE_KEY is 7 characters long; a cache key needs at least 32"):
        user_secret()
    monkeypatch.setenv("TFCARDS_CACHE_KEY", "")  # a CI secret a fork's build cannot see: unset
    assert user_secret() != b""


# --- through the CLI: a cache that came with a deck -------------------------------------------

LIAR = """
topic: Liar
cards:
  - id: false-claim
    front: What does `print(41)` print?
    back: 41, whatever the cache says.
    code: print(41)
    output: "42"
  - id: false-claim-signed
    front: What does `print(43)` print?
    back: 43, whatever the cache says.
    code: print(43)
    output: "42"
"""
FORGED = {"key": "false-claim", "status": "completed", "stdout": "42\n", "stderr": "", "seconds": 0.01,
          "exception": None, "warnings": []}


@pytest.fixture
def deck(tmp_path, monkeypatch, write_cards):
    monkeypatch.chdir(tmp_path)
    write_cards({"liar.yaml": LIAR})
    return tmp_path


def the_key(deck_dir: Path, card_id: str) -> str:
    card = next(c for c in load_cards([deck_dir / "cards"]) if c.id == card_id)
    return card_key(card, DEFAULT_MEMORY, probe())


def clean_exit(result) -> bool:
    """No traceback: click exited (SystemExit), nothing escaped."""
    return result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("where", [[], ["--cache-dir", "build/.cache"]], ids=["default-cache", "cache-dir-option"])
def test_a_cache_committed_with_a_deck_makes_no_false_card_pass(deck, where):
    """The deck ships build/.cache with entries at its false cards' exact keys saying they
    printed 42: one bare (the format before signing), one signed with a key the deck also
    ships (mode 0600, as if it were the user's). Neither is believed."""
    cache_dir = deck / "build" / ".cache"
    deck_secret = b"0123456789abcdef" * 4
    for card_id, secret in (("false-claim", None), ("false-claim-signed", deck_secret)):
        key = the_key(deck, card_id)
        plant(cache_dir, key, json.dumps({"key": key, "outcome": {**FORGED, "key": card_id}}).encode(), secret)
    (cache_dir / "key").write_bytes(deck_secret)
    (cache_dir / "key").chmod(0o600)
    result = CliRunner().invoke(main, ["verify", *where])
    assert result.exit_code == 1 and clean_exit(result), result.output
    assert "FAILED cards/liar.yaml:3: card 'false-claim': output differs from 'output'" in result.output
    assert "FAILED cards/liar.yaml:8: card 'false-claim-signed': output differs from 'output'" in result.output
    assert "0 passed, 2 failed" in result.output and "cached" not in result.output


TRUE = """
topic: True
cards:
""" + "".join(f"""
  - id: {name}
    front: What does `print(41)` print, {name}?
    back: 41, as `tf.constant(41)` would.
    code: print(41)
    output: "41"
    timeout: {10 + i}
""" for i, name in enumerate(["exception-empty", "exception-a-string", "seconds-a-string", "warnings-a-number"]))
# Entries that crashed `verify` before (KeyError, TypeError, ValueError) instead of being a miss.
CRASHED = {
    "exception-empty": {**FORGED, "stdout": "41\n", "exception": {}},
    "exception-a-string": {**FORGED, "stdout": "41\n", "exception": "ValueError"},
    "seconds-a-string": {**FORGED, "stdout": "41\n", "seconds": "soon"},
    "warnings-a-number": {**FORGED, "stdout": "41\n", "warnings": 7},
}


@pytest.mark.parametrize("signed", [False, True], ids=["bare", "signed-by-the-user"])
def test_malformed_entries_are_rerun_not_a_crash(deck, write_cards, signed):
    """One card per malformed outcome (a different timeout gives each its own key), and a name
    lookup's answer without its `why`."""
    (deck / "cards" / "liar.yaml").unlink()
    write_cards({"true.yaml": TRUE})
    secret = user_secret() if signed else None
    for card_id, outcome in CRASHED.items():
        key = the_key(deck, card_id)
        plant(deck / "c", key, json.dumps({"key": key, "outcome": outcome}).encode(), secret)
    key = api_key("tf.constant", probe())
    plant(deck / "c", key, json.dumps({"key": key, "value": {}}).encode(), secret)
    result = CliRunner().invoke(main, ["verify", "--cache-dir", "c"])
    assert clean_exit(result), repr(result.exception)
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output and "cached" not in result.output


def test_the_default_cache_is_the_users_and_outlives_the_deck(deck, own_key, user_cache):
    first = CliRunner().invoke(main, ["verify"])
    assert first.exit_code == 1 and "cached" not in first.output
    assert not (deck / "build").exists()  # nothing beside the deck for the next clone to find
    assert sorted(p.name for p in user_cache.glob("*/*.json")) == sorted(
        f"{the_key(deck, card_id)}.json" for card_id in ("false-claim", "false-claim-signed"))
    assert stat.S_IMODE((user_cache / "key").stat().st_mode) == 0o600
    again = CliRunner().invoke(main, ["verify"])
    assert again.exit_code == 1 and "2 cached" in again.output


def test_a_shared_key_shares_a_cache_between_users(deck, tmp_path):
    """CI: runs on other machines (other users' cache directories) restore one --cache-dir and
    hold the same TFCARDS_CACHE_KEY; a user without it re-runs everything."""
    shared, secret = str(tmp_path / "ci-cache"), "s3cret-from-the-ci-store-0123456789"

    def run(user: str, key: str | None):
        env = {"XDG_CACHE_HOME": str(tmp_path / user), "TFCARDS_CACHE_KEY": key}
        return CliRunner().invoke(main, ["verify", "--cache-dir", shared], env=env)

    assert "cached" not in run("alice", secret).output
    assert "2 cached" in run("bob", secret).output
    assert "cached" not in run("carol", None).output  # her own key signs nothing she finds there
    assert "2 cached" in run("carol", None).output  # her own entries, signed with her key, next time
    assert not (tmp_path / "bob" / "tfcards" / "key").exists()  # the shared key is not written down
    short = run("dave", "short")
    assert short.exit_code == 2 and short.output.strip() == (
        "error: TFCARDS_CACHE_KEY is 5 characters long; a cache key needs at least 32 (e.g. `openssl rand -hex 32`)")
