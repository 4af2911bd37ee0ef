"""The live deck behind `tfcards serve`: topic files reloaded as they change, and each card's
verdict and strict-check findings kept current, re-running only cards whose run changed.

Not thread-safe by design: the server calls it from its event loop only, and hands it the fork
server's outcomes there. It never runs anything itself; it asks SUBMIT to run a job, and to
cancel (`{"cancel": key}`) a run no live card needs any more, so a fixed card does not wait
for its old version's timeout.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .. import checks
from ..cache import Cache, api_key, card_key
from ..cards import Card, Verdict
from ..errors import CardError, CardErrors, display_path
from ..interpreter import Interpreter, probe
from ..load import filter_cards, load_file
from ..runner import DEFAULT_MEMORY
from ..verify import judge, not_run, with_findings

API_JOB = "tfcards:api:"  # prefix of the keys of name look-ups (one job per batch of new names)
TOPIC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Entry:
    """A card as the pages show it: its source, and its verdict (None while its run is pending)."""

    card: Card
    verdict: Verdict | None
    stale: bool = False  # the card's file has an error now: this is its last good version

    @property
    def status(self) -> str:
        return "running" if self.verdict is None else self.verdict.status


@dataclass(frozen=True)
class Update:
    """What one reload or outcome changed, for the pages to redraw."""

    version: int
    changed: frozenset[str] = frozenset()   # card ids whose entry is new or different
    removed: frozenset[str] = frozenset()   # card ids gone
    errors: bool = False                    # the list of file errors changed
    order: bool = False                     # cards were added, removed or moved

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed or self.errors or self.order)


@dataclass
class Workspace:
    """The cards under PATHS (filtered by TOPICS and TAGS), with their current verdicts."""

    paths: Sequence[Path]
    submit: Callable[[dict], None]
    topics: Sequence[str] = ()
    tags: Sequence[str] = ()
    cache: Cache | None = None
    memory: int = DEFAULT_MEMORY
    interpreter: Interpreter = field(default_factory=probe)  # this one: no TensorFlow import
    strict: bool = False  # a strict-check finding fails the card, as `verify --strict` does
    version: int = 0
    runner_error: str | None = None

    @property
    def tensorflow(self) -> str:
        return self.interpreter.tensorflow

    def __post_init__(self) -> None:
        self.paths = [Path(p) for p in self.paths]
        self.files: dict[Path, tuple[Card, ...]] = {}
        self.file_errors: dict[Path, tuple[CardError, ...]] = {}
        self.stale: set[Path] = set()  # files with an error whose last good cards are kept
        self.missing: list[Path] = []  # paths to serve that do not exist (yet)
        self.errors: tuple[CardError, ...] = ()
        self.cards: list[Card] = []
        self.entries: dict[str, Entry] = {}
        self.outcomes: dict[str, dict] = {}  # run key -> outcome
        self.pending: set[str] = set()       # run keys submitted, outcome not yet back
        self.cancelling: set[str] = set()    # run keys cancelled, their last outcome not yet back
        self._needed: set[str] = set()       # run keys the live cards need (set by _refresh)
        self.api: dict[str, str | None] = {}
        self.api_pending: set[str] = set()
        self._api_jobs = 0
        # memos by card version, so a save costs only its changed cards (pruned to the live cards)
        self._keys: dict[Card, str] = {}
        self._names: dict[Card, tuple[str, ...]] = {}
        self._judged: dict[Card, tuple[tuple, Entry]] = {}

    # --- input ---------------------------------------------------------------------------------

    def scan(self) -> Update:
        """Load every topic file under the paths (the first load, or after a rescan)."""
        found = set()
        for p in self.paths:
            if p.is_dir():
                found.update(f for f in p.rglob("*") if f.suffix in TOPIC_SUFFIXES and f.is_file())
            elif p.is_file():
                found.add(p)
        return self.reload(found | set(self.files) | set(self.file_errors))

    def reload(self, changed: Iterable[Path]) -> Update:
        """Reload the topic files CHANGED (a deleted one drops its cards), then re-judge. A file
        that no longer loads keeps its last good cards, marked stale, beside its error."""
        for path in changed:
            path = Path(path)
            if not self.watches(path):
                continue
            good = self.files.pop(path, None)
            self.file_errors.pop(path, None)
            self.stale.discard(path)
            if not path.is_file():
                continue
            try:
                self.files[path] = tuple(load_file(path, self.deck_dir(path)))
            except CardErrors as e:
                self.file_errors[path] = tuple(e.errors)
            except CardError as e:
                self.file_errors[path] = (e,)
            if good and path in self.file_errors:
                self.files[path] = good
                self.stale.add(path)
        return self._refresh()

    def deck_dir(self, path: Path) -> Path:
        """The served directory PATH is in (its images must be inside), as `load_cards` sees it."""
        for p in self.paths:
            if p.is_dir() and p.absolute() in path.absolute().parents:
                return p
        return path.parent

    def watches(self, path: Path) -> bool:
        """Whether PATH is (or would be) one of the served topic files."""
        if path.suffix not in TOPIC_SUFFIXES:
            return False
        path = path.absolute()
        for p in self.paths:
            p = p.absolute()
            if path == p or p in path.parents:
                return True
        return False

    def received(self, *outcomes: dict) -> Update:
        """Take the fork server's OUTCOMES of jobs this workspace submitted (one re-judging for all)."""
        for outcome in outcomes:
            self._take(outcome)
        return self._refresh()

    def _take(self, outcome: dict) -> None:
        key = outcome.get("key", "")
        if key.startswith(API_JOB):
            found = outcome.get("value") or {}
            for name in self.api_pending:
                if name in found:
                    self.api[name] = found[name]
                    if self.cache is not None:
                        self.cache.put_value(api_key(name, self.interpreter), {"why": found[name]})
                else:  # as `verify` says it; not cached, so the next server asks again
                    self.api[name] = (f"`{name}` could not be looked up (the lookup "
                                      f"{outcome.get('status', 'failed')})")
            self.api_pending.clear()
        else:
            self.pending.discard(key)
            self.cancelling.discard(key)
            if outcome.get("status") == "cancelled":
                return  # no verdict: a card that needs this run again submits it anew
            self.outcomes[key] = outcome
            if self.cache is not None:
                self.cache.put(key, outcome)

    def runner_died(self, message: str) -> Update:
        """The fork server exited: show why; pending runs are asked again when it restarts."""
        self.runner_error = message
        self.pending.clear()
        self.cancelling.clear()
        self.api_pending.clear()
        return self._refresh(force_errors=True)

    def runner_restarted(self) -> Update:
        self.runner_error = None
        return self._refresh(force_errors=True)

    # --- state ---------------------------------------------------------------------------------

    def entry(self, card_id: str) -> Entry | None:
        return self.entries.get(card_id)

    def topic_files(self) -> list[Path]:
        return sorted(set(self.files) | set(self.file_errors))

    def _refresh(self, force_errors: bool = False) -> Update:
        self.missing = [p for p in self.paths if not p.exists()]
        errors = [CardError("does not exist yet: its cards show here once it is created", p) for p in self.missing]
        errors += [e for path in sorted(self.file_errors) for e in self.file_errors[path]]
        every: list[Card] = []
        first: dict[str, Card] = {}
        for path in sorted(self.files):
            for card in self.files[path]:
                seen = first.setdefault(card.id, card)
                if seen is not card:
                    errors.append(CardError(f"duplicate id, first used at {display_path(seen.file)}:{seen.line}",
                                            card.file, card.line, card.id))
                    continue
                every.append(card)
        try:
            cards = filter_cards(every, self.topics, self.tags) if every else []
        except CardError as e:
            errors.append(e)
            cards = []
        live = set(cards)
        for memo in (self._keys, self._names, self._judged):
            for stale in [c for c in memo if c not in live]:
                del memo[stale]
        self._ask_api(cards)
        repeats = checks.first_asked(cards)
        self._needed = set()
        entries = {card.id: self._entry(card, repeats.get(card.id)) for card in cards}
        for card in cards:
            if card.file in self.stale:
                entries[card.id] = replace(entries[card.id], stale=True)
        for key in sorted(self.pending - self._needed):  # its card changed or left: stop its run
            self.pending.discard(key)
            self.cancelling.add(key)
            self.submit({"cancel": key})

        old = self.entries
        changed = frozenset(i for i, e in entries.items() if old.get(i) != e)
        removed = frozenset(old) - frozenset(entries)
        order = [c.id for c in cards] != [c.id for c in self.cards]
        errors_changed = force_errors or [e.format() for e in errors] != [e.format() for e in self.errors]
        self.cards, self.entries, self.errors = cards, entries, tuple(errors)
        update = Update(self.version + 1, changed, removed, errors_changed, order)
        if update:
            self.version += 1
            return update
        return Update(self.version)

    def _entry(self, card: Card, repeated: Card | None) -> Entry:
        outcome = None
        here = probe(self.interpreter.python, card.requires) if card.requires else self.interpreter
        holds = card.out_of_range(here) is None
        verdict = not_run(card, here)  # as `verify` judges a card that does not run
        if verdict is None:
            key = self._keys.get(card)
            if key is None:
                key = self._keys[card] = card_key(card, self.memory, here)
            self._needed.add(key)
            outcome = self._outcome(key)
            if outcome is None:
                # a key being cancelled is asked again once its cancellation is confirmed
                if key not in self.pending and key not in self.cancelling and self.runner_error is None:
                    self.pending.add(key)
                    self.submit({"key": key, "setup": card.setup, "code": card.code,
                                 "timeout": card.timeout, "memory": self.memory})
                return Entry(card, None)
        api = self.api if holds else {}
        inputs = (id(outcome), repeated, tuple(api.get(n) for n in self._mentioned(card)))
        judged = self._judged.get(card)
        if judged is not None and judged[0] == inputs:
            return judged[1]
        if outcome is not None:
            verdict = judge(card, outcome, cached=bool(outcome.get("cached")))
        entry = Entry(card, with_findings(verdict, checks.check(card, checks.Seen(outcome, api, repeated)),
                                          self.strict))
        self._judged[card] = (inputs, entry)
        return entry

    def _mentioned(self, card: Card) -> tuple[str, ...]:
        names = self._names.get(card)
        if names is None:
            names = self._names[card] = tuple(sorted(checks.mentioned_names([card])))
        return names

    def outcome(self, card: Card) -> dict | None:
        """CARD's last run, under the key its entry was judged with (the interpreter probed for its
        `requires`, so a key computed without them would name another run)."""
        key = self._keys.get(card)
        return None if key is None else self.outcomes.get(key)

    def _outcome(self, key: str) -> dict | None:
        outcome = self.outcomes.get(key)
        if outcome is None and self.cache is not None:
            outcome = self.cache.get(key)
            if outcome is not None:
                outcome = self.outcomes[key] = {**outcome, "cached": True}
        return outcome

    def _ask_api(self, cards: list[Card]) -> None:
        """Look up the TensorFlow names the `api` rule needs that neither memory nor cache knows."""
        unknown = []
        wanted = {n for c in cards if c.holds_for(self.tensorflow, self.interpreter.keras)
                  for n in self._mentioned(c)}
        for name in sorted(wanted):
            if name in self.api or name in self.api_pending:
                continue
            entry = self.cache.get_value(api_key(name, self.interpreter)) if self.cache is not None else None
            if entry is not None:
                self.api[name] = entry["why"]
            else:
                unknown.append(name)
        if unknown and self.runner_error is None and not self.api_pending:
            self._api_jobs += 1
            self.api_pending.update(unknown)
            self.submit({"key": f"{API_JOB}{self._api_jobs}", "resolve": unknown, "timeout": 300,
                         "memory": self.memory})
