"""The data model: a card as loaded from its source, and the verdict on it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

CARD_TYPES = ("basic", "reverse", "cloze")
CODE_ON = ("front", "back")
FIGURE_SIDES = ("front", "back")
STATUSES = ("passed", "failed", "skipped", "no-code")
# An Anki cloze deletion: {{c1::text}} or {{c1::text::hint}}. Search it with clozes() and
# sub_clozes(), never directly: see clozes().
CLOZE_RE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.S)


def clozes(text: str) -> list[re.Match]:
    """CLOZE_RE's matches in TEXT, in time linear in it. From a `{{cN::` that no `}}` follows,
    the lazy groups scan to the end of the text, and then again from the next such opening
    (`{{c1::` 10,000 times: minutes). Searching only up to the last `}}` leaves no opening
    unclosed, so each match ends at the first `}}` after its opening, and none fails late."""
    return list(CLOZE_RE.finditer(text, 0, text.rfind("}}") + 2))


def sub_clozes(repl: Callable[[re.Match], str], text: str) -> str:
    """`CLOZE_RE.sub(REPL, TEXT)` in time linear in TEXT (see clozes)."""
    out, pos = [], 0
    for m in clozes(text):
        out += (text[pos:m.start()], repl(m))
        pos = m.end()
    return "".join(out) + text[pos:]


def slugify(text: str) -> str:
    """`Post-training quantization` -> `post-training-quantization`: topic names as tags/files."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class Card:
    """One card of a topic file, with every default of the format applied.

    `line` is the 1-based line of the card's `id`; `code_line`/`setup_line` are the lines
    of the first line of the code/setup so tracebacks can point into the source file.
    """

    id: str
    topic: str
    front: str
    file: Path
    line: int
    back: str = ""
    deck: str = "TensorFlow"
    type: str = "basic"
    tags: tuple[str, ...] = ()
    code: str | None = None
    output: str | None = None
    raises: str | None = None
    code_on: str = "front"
    tolerance: float | None = None
    timeout: float = 60.0
    skip: str | None = None
    setup: str | None = None
    code_line: int = 0
    setup_line: int = 0
    images: tuple[Path, ...] = field(default=(), compare=False)
    description: str | None = None
    whitespace: str = "normalize"
    tensorflow: str | None = None  # a PEP 440 specifier: the versions the card holds for
    allow: tuple[tuple[str, str], ...] = ()  # (strict rule, why it does not apply), in source order
    extra: str = ""  # Markdown under the answer, not graded (Anki's "Back Extra")
    figure: str | None = None  # "front"/"back": the side showing the figure(s) the code leaves open
    requires: tuple[str, ...] = ()  # modules the code imports beyond TF, Keras and NumPy
    keras: str | None = None  # a PEP 440 specifier: the Keras versions the card holds for

    @property
    def topic_slug(self) -> str:
        return slugify(self.topic)

    @property
    def deck_path(self) -> str:
        """Deck and topic: `TensorFlow::Tensors` (Anki's subdeck also numbers the topic: `subdecks`)."""
        return f"{self.deck}::{self.topic}"

    @property
    def allowed(self) -> dict[str, str]:
        return dict(self.allow)

    def holds_for(self, tf_version: str, keras_version: str | None = None) -> bool:
        """Whether the card's `tensorflow` range includes TF_VERSION and, when KERAS_VERSION is
        given, its `keras` range includes that (no range: every version)."""
        return _contains(self.tensorflow, tf_version) and (keras_version is None
                                                           or _contains(self.keras, keras_version, False))

    def out_of_range(self, interpreter) -> str | None:
        """Why the card does not apply to INTERPRETER (an interpreter.Interpreter probed for the
        card's `requires`): a version outside its ranges, or a module it cannot import. None if
        it applies."""
        if not _contains(self.tensorflow, interpreter.tensorflow):
            return f"holds for TensorFlow {self.tensorflow}; this is {interpreter.tensorflow}"
        if not _contains(self.keras, interpreter.keras, False):
            has = "has no Keras" if interpreter.keras == "not-installed" else f"has Keras {interpreter.keras}"
            return f"holds for Keras {self.keras}; this interpreter {has}"
        missing = interpreter.missing(self.requires)
        if missing:
            return f"requires {', '.join(missing)}, which this interpreter cannot import"
        return None

    @property
    def ranges(self) -> str:
        """`TensorFlow >=2.16 with Keras >=3.7`, `Keras >=3.7`, or "" for a card of every version."""
        parts = [f"TensorFlow {self.tensorflow}" if self.tensorflow else "",
                 f"Keras {self.keras}" if self.keras else ""]
        return " with ".join(p for p in parts if p)

    @property
    def runs(self) -> bool:
        """Whether verification executes this card's code."""
        return self.code is not None and self.skip is None


def _contains(specifier: str | None, version: str, unreadable: bool = True) -> bool:
    """Whether VERSION is in the PEP 440 SPECIFIER (None: every version). A version we cannot
    read counts as UNREADABLE says: a TensorFlow's is run; a missing Keras is in no range."""
    if specifier is None:
        return True
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return unreadable


def subdecks(cards: Iterable[Card]) -> dict[tuple[str, str], str]:
    """The Anki deck of each (deck, topic) of CARDS, numbered in the order the topics first come:
    `TensorFlow::01 Tensors`. Anki lists subdecks by name, so the number puts them in the order
    of the learning path."""
    numbers: dict[str, dict[str, int]] = {}
    for card in cards:
        topics = numbers.setdefault(card.deck, {})
        topics.setdefault(card.topic, len(topics) + 1)
    width = max([2, *(len(str(len(topics))) for topics in numbers.values())])
    return {(deck, topic): f"{deck}::{n:0{width}d} {topic}"
            for deck, topics in numbers.items() for topic, n in topics.items()}


@dataclass(frozen=True)
class Finding:
    """A strict check's complaint about a card: the rule's name and one line saying why."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


@dataclass(frozen=True)
class Verdict:
    """What verification concluded about one card.

    `reason` is one line for summaries and reports; `detail` is the diff or trimmed
    traceback a failing card's author needs.
    """

    card_id: str
    status: str
    reason: str = ""
    detail: str = ""
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    cached: bool = False
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """A card that may be rendered: verified, skipped with a reason, or plain concept."""
        return self.status != "failed"
