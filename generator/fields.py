"""The fields of a topic file, of a card and of `deck.yaml`, with their types: the one table the
loader reads by (generator/load.py) and `tfcards schema` describes (generator/schema.py), so an
editor's checks and the loader's cannot drift apart.

Patterns are written once, in the common subset of Python's and ECMAScript's regular
expressions: the loader full-matches them, the schema anchors them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .cards import CARD_TYPES, CODE_ON, FIGURE_SIDES
from .checks import RULE_NAMES
from .compare import WHITESPACE_MODES

ID = r"[a-z0-9][a-z0-9-]*"
TAG = r"[a-z0-9_-]+"
MODULE = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
RAISES = r"[A-Za-z_][A-Za-z0-9_.]*(:\s[\s\S]*)?"
_CLAUSE = r"\s*(~=|===|==|!=|<=|>=|<|>)\s*[0-9A-Za-z.*+!_-]+\s*"
SPECIFIER = rf"{_CLAUSE}(,{_CLAUSE})*"  # PEP 440, as far as a pattern goes; the loader asks `packaging`
POSITIVE = r"\s*\+?(?=[0-9.]*[1-9])([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*"  # "1e-6" as text

KINDS = ("text", "number", "choice", "words", "specifier", "reasons", "cards")


@dataclass(frozen=True)
class Field:
    """One key: its KIND (how its value is read and typed, see KINDS), what it means (HELP, shown
    by editors), and its constraints. BAD words the error of a value that breaks them, with
    `{value}` for the value (each item of a list)."""

    name: str
    kind: str
    help: str
    required: bool = False
    choices: tuple[str, ...] = ()  # choice: the values; reasons: the keys
    pattern: str | None = None     # text, words: what each value must be
    max_length: int | None = None  # text
    bad: str | None = None

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


DEFAULTED = (  # set on a card, or at the top of a topic file as the default of its cards
    Field("tolerance", "number", "Relative tolerance for every number in the output, e.g. 1e-5."),
    Field("whitespace", "choice", "normalize: runs of whitespace compare equal; exact: only trailing "
          "whitespace and blank lines at the ends are ignored.", choices=WHITESPACE_MODES),
    Field("tensorflow", "specifier", "A PEP 440 specifier, e.g. '>=2.16': the TensorFlow versions the "
          "card holds for; outside them it is skipped."),
    Field("keras", "specifier", "A PEP 440 specifier, e.g. '>=3': the Keras versions the card holds for."),
    Field("requires", "words", "Python modules the card needs, e.g. [ai_edge_litert]; where one is "
          "missing the card is skipped.", pattern=MODULE,
          bad="'requires' names '{value}', which is not a Python module name"),
)

CARD = (
    Field("id", "text", "The card's identity: unique across all files, a-z, 0-9 and '-', at most 64 "
          "characters. Never reuse it for another fact.", required=True, pattern=ID, max_length=64,
          bad="bad id '{value}': use at most 64 of a-z, 0-9 and '-', starting with a letter or digit"),
    Field("front", "text", "The question, in Markdown (a cloze card's {{c1::...}} deletions).", required=True),
    Field("back", "text", "The answer, in Markdown; required unless the card is a cloze card."),
    Field("extra", "text", "More on the answer side, in Markdown, below the answer."),
    Field("tags", "words", "Tags, each of a-z, 0-9, '_' and '-'.", pattern=TAG,
          bad="bad tag '{value}': use lowercase letters, digits, '_' and '-'"),
    Field("code", "text", "Python, the verified example: run against the installed TensorFlow."),
    Field("output", "text", "What the code prints (setup + code), compared with what it really prints."),
    Field("raises", "text", "The exception the code raises: a class name, optionally ': message'.",
          pattern=RAISES, bad="'raises' must be an exception class name, optionally followed by "
                              "': message', not {value!r}"),
    Field("code_on", "choice", "front: the code shows under the question; back: on the answer side.",
          choices=CODE_ON, bad="'code_on' must be 'front' or 'back', not '{value}'"),
    Field("timeout", "number", "Seconds the card's run may take before it fails (default 60)."),
    Field("skip", "text", "A reason: the code is shown but not run.", pattern=r"[\s\S]*\S[\s\S]*",
          bad="'skip' needs a reason"),
    Field("type", "choice", "basic, reverse (also asked back to front) or cloze.", choices=CARD_TYPES),
    Field("topic", "text", "Overrides the file's topic for this card."),
    Field("figure", "choice", "The side that shows the figure the code draws.", choices=FIGURE_SIDES),
    Field("allow", "reasons", "Strict-check rules that do not apply to this card, each with the reason.",
          choices=RULE_NAMES),
) + DEFAULTED

FILE = (
    Field("topic", "text", "The topic's name, shown on cards and used as the Anki subdeck.", required=True),
    Field("deck", "text", "The top deck (default TensorFlow)."),
    Field("description", "text", "One line about the topic."),
    Field("setup", "text", "Python run before each card's code, inside that card's own run."),
    Field("cards", "cards", "The cards of this topic.", required=True),
) + DEFAULTED

DECK = (
    Field("topics", "words", "The topic files in learning order, by their path below the card "
          "directory without suffix (e.g. tensors); every topic file once.", required=True),
)


def by_name(fields: tuple[Field, ...]) -> dict[str, Field]:
    return {f.name: f for f in fields}
