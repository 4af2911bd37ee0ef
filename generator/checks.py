"""Strict checks: what a machine can prove about a card's prose, one named rule per function.

A card's code is proven by running it; these rules check the words around it. Each rule is
a plain function `rule(card, seen) -> messages` whose docstring's first line is its summary
in `tfcards verify --help` and docs/card-format.md. `RULES` is the registry; a card's
`allow: {rule: reason}` silences a rule for that card, and an `allow` that silences nothing
is itself a finding (so exemptions do not outlive their reason).
"""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from .cards import Card, Finding, clozes, sub_clozes
from .compare import tight

MAX_ANSWER_WORDS = 40
MAX_LIST_ITEMS = 2
EXEMPT_TAG = "legacy"  # a card teaching a legacy API on purpose may run deprecated code

DTYPES = frozenset(
    "bool string half float16 bfloat16 float32 float64 double int4 int8 int16 int32 int64 uint4 "
    "uint8 uint16 uint32 uint64 complex64 complex128 qint8 quint8 qint16 quint16 qint32 resource "
    "variant float8_e4m3fn float8_e5m2".split())
REPR_KEYS = frozenset({"shape", "dtype", "numpy", "name", "dense_shape", "size"})  # `shape=()` is a value,
# `training=True` an argument
# Code spans and fences are found as the regexes `(`+)(.+?)\1` (re.S) and
# `^( {0,3})(```|~~~)[^\n]*\n(.*?)^\1\2[ \t]*$` (re.S | re.M) find them, by code_spans() and
# fences() in linear time: the regexes take cubic and quadratic time on crafted text.
NUMBER_RE = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w])")
# A sequence of values: `[1, 2.5e-3, None, 'a']`, `(x=1, y=2)`. Was
# `[\[(](?:[\s\d.,eE+\-\[\]()'\"]|None|True|False|\w+=)*[\])]`, exponential on `[eeeeee=eeeeee=...x]`
# (each run of word characters split between `e`s and `\w+=` in every way). The same language,
# one way to read each run: `name=`, or a run of digits, e, E, None, True, False, or one mark.
VALUES_RE = re.compile(r"[\[(](?>\w+=|(?:\d|[eE]|None|True|False)+(?!\w)|[\s.,+\-\[\]()'\"])*[\])]")
# A call: a run of word characters holding a letter or `_`, then `(`. Was `[A-Za-z_]\w*\(`,
# which rescans a long run from each of its letters; this reads each run once.
CALL_RE = re.compile(r"(?<!\w)[^\W_A-Za-z]*+[A-Za-z_]\w*+\(")


@dataclass(frozen=True)
class Seen:
    """What the rules may consult about one card besides its source."""

    outcome: Mapping | None = None  # the run's outcome (stdout, exception, warnings), if it ran
    api: Mapping[str, str | None] = field(default_factory=dict)  # name -> None or why it is missing
    first_asked: Card | None = None  # an earlier card asking the same question


# --- the rules -------------------------------------------------------------------------------

def api(card: Card, seen: Seen) -> Iterator[str]:
    """Every `tf.`/`keras.` name in the front and back exists in the TensorFlow verified against."""
    from .apinames import mentioned

    in_prose = prose_plurals(card)
    for name in mentioned(card.front, card.back):
        why = seen.api.get(name)
        singular = in_prose.get(name)
        if why and not (singular in seen.api and seen.api[singular] is None):  # "runs tf.functions"
            yield why


def deprecated(card: Card, seen: Seen) -> Iterator[str]:
    """Running the card emits no warning and no deprecation log line (tag `legacy` to teach one)."""
    if EXEMPT_TAG in card.tags or not seen.outcome:
        return
    warnings = seen.outcome.get("warnings") or []
    if warnings:
        more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
        yield f"running the card warned: {warnings[0]}{more}"


def grounded(card: Card, seen: Seen) -> Iterator[str]:
    """Each value the answer quotes in a code span occurs in what the code printed or raised."""
    if not seen.outcome or seen.outcome.get("status") != "completed":
        return
    evidence = _Evidence(seen.outcome)
    for span in answer_spans(card):
        kind = value_kind(span)
        if kind in ("string", "assignment") and _in_code(span, card.code or ""):
            continue  # `padding="same"`: an argument quoted from the card's code, as written
        if kind is not None and not evidence.has(kind, span, card.tolerance):
            yield f"the answer says `{span}`, but the code's output{evidence.raised} does not show it"


def atomic(card: Card, seen: Seen) -> Iterator[str]:
    """One fact per card: an answer of at most 40 words, one question, no list of 3+ items."""
    words = len(_prose(card.back).split())
    if words > MAX_ANSWER_WORDS:
        yield f"the answer has {words} words (at most {MAX_ANSWER_WORDS}): split the card or say less"
    questions = _prose(sub_clozes(lambda m: m.group(2), card.front)).count("?")
    if questions > 1:
        yield f"the front asks {questions} questions: one card per question"
    if card.type != "cloze":
        items = _longest_list(card.back)
        if items > MAX_LIST_ITEMS:
            yield f"the answer is a list of {items} items: make a cloze card, one deletion per item"


def duplicate(card: Card, seen: Seen) -> Iterator[str]:
    """No two cards ask the same question (ignoring case, whitespace, punctuation, backticks)."""
    if seen.first_asked is not None:
        from .errors import display_path

        other = seen.first_asked
        yield f"asks the same question as card '{other.id}' ({display_path(other.file)}:{other.line})"


def spoiler(card: Card, seen: Seen) -> Iterator[str]:
    """No question side shows its answer, in any words or code (cloze deletions, reverse cards).

    A reverse note's first card asks with the front and the code shown under it, its second with
    the back, its code and output: the answer's code spans are compared as a learner reads them
    (case, quotes and punctuation ignored), and a formula as the same formula with values in."""
    if card.type == "cloze":
        deletions: dict[str, list[re.Match]] = {}
        for m in clozes(card.front):
            deletions.setdefault(m.group(1), []).append(m)
        for number, hidden in sorted(deletions.items(), key=lambda kv: int(kv[0])):
            shown = sub_clozes(lambda m: ("" if m.group(1) == number else m.group(2))
                               + " " + (m.group(3) or ""), card.front)
            if card.code and card.code_on == "front":
                shown += "\n" + card.code
            for m in hidden:
                answer = _plain(m.group(2))
                if answer and re.search(r"(?<!\w)" + re.escape(answer) + r"(?!\w)", _plain(shown)):
                    yield f"deletion c{number} `{answer}` also shows on its own card"
        return
    if card.type != "reverse":
        return
    code_front = card.code if card.code and card.code_on == "front" else ""
    asked = card.front + "\n" + code_front  # the first card's question side: the second's answer
    for span in answer_spans(card):
        if _telling(span) and _words(span) in _words(asked):
            yield f"the answer's `{span}` also shows on the question side"
        elif code_front and (same := _same_formula(span, code_front)):
            yield f"the question's code shows `{same}`, the answer's `{span}` with values in"
    # the second card asks with the answer side (back, its code, output) for the front
    reversed_question = "\n".join([card.back, card.code if card.code and card.code_on == "back" else "",
                                   card.output or "", card.raises or ""])
    wanted = _words(_plain(card.front))
    if wanted.strip() and wanted in _words(reversed_question):
        yield f"the reversed card asks for `{_plain(card.front).rstrip(' ?.:')}` but shows it on its question side"


def _words(text: str) -> str:
    """TEXT as a learner compares it: case, punctuation, quotes and backticks ignored, padded with
    spaces so that ` x ` matches whole words only."""
    return " " + " ".join(re.sub(r"[\W_]+", " ", text.lower()).split()) + " "


def _telling(span: str) -> bool:
    """A code span that gives an answer away when it shows on the question side: a name with an
    argument or attribute (`padding="same"`, `tf.int32`), not a lone word or number that any code
    may contain by chance."""
    return len(_words(span).split()) >= 2 and re.search(r"[A-Za-z]", span) is not None


_OPERATORS = ("**", "//", "+", "-", "*", "/", "%", "@")


def _skeleton(tokens: list[str]) -> list[str]:
    return ["x" if re.fullmatch(r"\w+(?:\.\w+)*", t) else t for t in tokens]


def _same_formula(span: str, code: str) -> str | None:
    """Where the answer is a formula (`n * units + units`), the same formula with values in
    (`10 * 5 + 5`) in CODE, if it is there."""
    token = r"\*\*|//|\w+(?:\.\w+)*|\S"
    want = re.findall(token, span)
    if sum(t in _OPERATORS for t in want) < 2 or not all(re.fullmatch(r"\w+", t) or t in _OPERATORS for t in want):
        return None
    pattern = _skeleton(want)
    for line in code.splitlines():
        found = list(re.finditer(token, line))
        for i in range(len(found) - len(pattern) + 1):
            window = found[i:i + len(pattern)]
            if _skeleton([m.group() for m in window]) == pattern and \
                    [m.group() for m in window] != want:
                return line[window[0].start():window[-1].end()]
    return None


RULES: tuple[Callable[[Card, Seen], Iterable[str]], ...] = (api, deprecated, grounded, atomic, duplicate, spoiler)
RULE_NAMES = tuple(rule.__name__ for rule in RULES)


def summary(rule: Callable) -> str:
    """The first line of a rule's docstring: what it asks of a card."""
    return (rule.__doc__ or "").strip().splitlines()[0]


def check(card: Card, seen: Seen) -> tuple[Finding, ...]:
    """Every rule's findings for CARD, less those its `allow` silences, plus unused `allow`s."""
    allowed = card.allowed
    found, silenced = [], set()
    for rule in RULES:
        for message in rule(card, seen):
            if rule.__name__ in allowed:
                silenced.add(rule.__name__)
            else:
                found.append(Finding(rule.__name__, message))
    for name in allowed:
        if name not in silenced:
            found.append(Finding("allow", f"'allow: {name}' silences nothing: remove it"))
    return tuple(found)


def question_key(card: Card) -> str:
    """What a learner is asked, with case, whitespace, punctuation and backticks ignored."""
    asked = sub_clozes(lambda m: m.group(2), card.front)
    if card.code and card.code_on == "front":
        asked += "\n" + card.code
    return " ".join(re.sub(r"[\W_]+", " ", asked.lower()).split())


def first_asked(cards: Sequence[Card]) -> dict[str, Card]:
    """For each card repeating an earlier card's question, that earlier card."""
    first: dict[str, Card] = {}
    repeats = {}
    for card in cards:
        key = question_key(card)
        if key in first:
            repeats[card.id] = first[key]
        else:
            first[key] = card
    return repeats


def mentioned_names(cards: Iterable[Card]) -> set[str]:
    """Every name the `api` rule will look up for CARDS (with the singular of a prose plural)."""
    from .apinames import mentioned

    return {name for card in cards for name in (*mentioned(card.front, card.back), *prose_plurals(card).values())}


def prose_plurals(card: Card) -> dict[str, str]:
    """Names that read as an English plural in prose ("runs tf.functions eagerly"), each with its
    singular: never a name also quoted in a code span or a code block, where it is code."""
    from .apinames import mentioned

    code = set(mentioned(*(span for text in (card.front, card.back) for _, _, span in code_spans(text)),
                         *(text[start:end] for text in (card.front, card.back) for start, end in fences(text))))
    return {name: name[:-1] for name in mentioned(_prose(card.front), _prose(card.back))
            if name.endswith("s") and not name.endswith("ss") and name not in code}


# --- what the rules read ------------------------------------------------------------------------

def answer_spans(card: Card) -> list[str]:
    """The code spans on the answer side: the back's, and for a cloze card its deletions'
    (a deletion without backticks counts as one span)."""
    spans = [content.strip() for _, _, content in code_spans(_unfenced(card.back))]
    if card.type == "cloze":
        for m in clozes(card.front):
            inner = [content.strip() for _, _, content in code_spans(m.group(2))]
            spans.extend(inner or [m.group(2).strip()])
    return [s for s in spans if s]


def value_kind(span: str) -> str | None:
    """Which kind of value a code span quotes, or None for code (`tf.cast(x, tf.int32)`)."""
    if span in DTYPES or (span.startswith("tf.") and span[3:] in DTYPES):
        return "dtype"
    if NUMBER_RE.fullmatch(span):
        return "number"
    if span in ("True", "False", "None"):
        return "word"
    if re.fullmatch(r"[bru]?(['\"]).*\1", span, re.S):
        return "string"
    if re.fullmatch(r"[\[(][^\[\]()]*(?:[\[(][^\[\]()]*[\])][^\[\]()]*)*[\])]", span) and \
            VALUES_RE.fullmatch(span) and not CALL_RE.search(span):
        return "sequence"
    name, eq, value = span.partition("=")
    if eq and name in REPR_KEYS and value_kind(value) is not None:
        return "assignment"
    if re.fullmatch(r"(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt)", span):
        return "exception"
    return None


class _Evidence:
    """What a card's run showed: its standard output and any exception, searchable by kind."""

    def __init__(self, outcome: Mapping) -> None:
        exc = outcome.get("exception") or {}
        self.classes = set(exc.get("mro") or ())
        self.text = outcome.get("stdout", "")
        if exc:
            self.text += f"\n{exc.get('type', '')}: {exc.get('message', '')}"
        self.raised = " or exception" if exc else ""

    @cached_property
    def _numbers(self) -> list[float]:
        found = []
        for token in NUMBER_RE.findall(self.text):
            try:
                found.append(float(token))
            except ValueError:
                continue
        return found

    def has(self, kind: str, span: str, tolerance: float | None) -> bool:
        if kind == "dtype":
            name = span[3:] if span.startswith("tf.") else span
            return re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", self.text) is not None
        if kind == "word":
            return re.search(r"(?<![\w])" + span + r"(?![\w])", self.text) is not None
        if kind == "number":
            return any(_same_number(span, x, tolerance) for x in self._numbers)
        if kind == "string":
            inner = re.sub(r"^[bru]?(['\"])(.*)\1$", r"\2", span, flags=re.S)
            return inner in self.text
        if kind == "exception":
            name = span.rsplit(".", 1)[-1]
            return name in self.classes or re.search(r"(?<![\w])" + name + r"(?![\w])", self.text) is not None
        return _flat(span) in _flat(self.text)  # sequences and name=value forms


def _same_number(span: str, actual: float, tolerance: float | None) -> bool:
    """`0.33` is shown by 0.33333334 (the answer rounds); `15` only by 15 or 15.0."""
    want = float(span)
    if math.isnan(want) or math.isnan(actual):
        return math.isnan(want) and math.isnan(actual)
    if tolerance and math.isclose(want, actual, rel_tol=tolerance):
        return True
    mantissa = span.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    if "e" in span.lower() or decimals == 0:
        return want == actual
    return round(actual, decimals) == want


def _in_code(span: str, code: str) -> bool:
    """Whether SPAN stands in CODE as written (spaces around `=` and brackets aside)."""
    return re.search(r"(?<![\w\"'])" + re.escape(_flat(span)) + r"(?![\w\"'])", _flat(code)) is not None


def _flat(text: str) -> str:
    """Text with layout and list punctuation dropped: `[1, 2]` reads as NumPy's `[1 2]`."""
    return " ".join(tight(text.replace(",", " ")).split())  # (no comma is left to tighten)


def _unfenced(text: str) -> str:
    return _cut(text, fences(text), "")


def _prose(text: str) -> str:
    """Markdown text without code blocks and code spans: what is read as sentences."""
    text = _unfenced(text)
    return _cut(text, [(start, end) for start, end, _ in code_spans(text)], " x ")


def _cut(text: str, spans: Iterable[tuple[int, int]], put: str) -> str:
    """TEXT with each of SPANS (in order, apart) replaced by PUT."""
    out, pos = [], 0
    for start, end in spans:
        out += (text[pos:start], put)
        pos = end
    return "".join(out) + text[pos:]


def code_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of each code span, as `(`+)(.+?)\1` finds them, left to right.

    From a start inside a run of r backticks the regex tries k = r, r-1, ... 1 backticks, each
    with the shortest content (one character or more) that k backticks follow. Worked out: the
    largest k <= r that a later run of at least k backticks can close wins, if 2k + 1 > r;
    else k = (r - 1) // 2, closed inside the run itself. The runs skipped to find the closing
    one lie inside the span, so the whole search is linear (the regex: cubic in a run).
    """
    runs = [(m.start(), m.end()) for m in re.finditer(r"`+", text)]
    longest_after = [0] * (len(runs) + 1)
    for i in range(len(runs) - 2, -1, -1):
        longest_after[i] = max(longest_after[i + 1], runs[i + 1][1] - runs[i + 1][0])
    spans, i, pos = [], 0, 0
    while i < len(runs):
        s, end = max(runs[i][0], pos), runs[i][1]
        r, k = end - s, min(end - s, longest_after[i])
        if r <= 0:
            i += 1
        elif k >= 1 and 2 * k + 1 > r:
            j = next(j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] >= k)
            spans.append((s, runs[j][0] + k, text[s + k:runs[j][0]]))
            i, pos = j, runs[j][0] + k
        elif r >= 3:
            k = (r - 1) // 2
            spans.append((s, s + 2 * k + 1, text[s + k:s + k + 1]))
            pos = s + 2 * k + 1
        else:  # one or two backticks and none later: no span starts here or after
            break
    return spans


_OPENING = re.compile(r"( {0,3})(```|~~~)")
_CLOSING = re.compile(r"( {0,3})(```|~~~)[ \t]*")


def fences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each fenced block, as `^( {0,3})(```|~~~)[^\n]*\n(.*?)^\1\2[ \t]*$`
    finds them: an opening line (followed by a newline) up to the first later line that closes
    it (the same indent and fence, then only blanks); an opening never closed is skipped. A
    line-by-line scan with each kind's closing lines indexed, where the regex rescans the rest
    of the text from every unclosed opening."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines = [(start, (starts[n + 1] - 1) if n + 1 < len(starts) else len(text)) for n, start in enumerate(starts)]
    closing: dict[tuple[str, str], list[int]] = {}
    for n, (start, end) in enumerate(lines):
        m = _CLOSING.fullmatch(text, start, end)
        if m:
            closing.setdefault(m.groups(), []).append(n)
    found, n = [], 0
    while n < len(lines) - 1:  # the last line has no newline after it: it opens nothing
        start = lines[n][0]
        m = _OPENING.match(text, start, lines[n][1])
        later = closing.get(m.groups(), []) if m else []
        k = bisect.bisect_right(later, n)
        if k < len(later):
            found.append((start, lines[later[k]][1]))
            n = later[k] + 1
        else:
            n += 1
    return found


def _plain(text: str) -> str:
    """Markdown inline text as read: backticks and emphasis markers dropped."""
    return re.sub(r"[`*]", "", text).strip()


LIST_ITEM_RE = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)", re.M)


@lru_cache(maxsize=None)
def _commonmark():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _longest_list(text: str) -> int:
    if not LIST_ITEM_RE.search(text):  # no line starts like a list item: no list (and no parse)
        return 0
    longest, stack = 0, []
    for token in _commonmark().parse(text):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            stack.append(0)
        elif token.type == "list_item_open" and stack:
            stack[-1] += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            longest = max(longest, stack.pop())
    return longest
