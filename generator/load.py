"""Load topic files into Cards, enforcing every rule of CARD_FORMAT.md with located errors.

We walk PyYAML's node graph (not the constructed dicts) because only nodes keep line
numbers, duplicate keys and the raw text of scalars (`output: 4` must stay the string "4").
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Iterable

import yaml

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .cards import CARD_TYPES, CODE_ON, FIGURE_SIDES, Card, clozes, slugify
from .checks import RULE_NAMES
from .compare import WHITESPACE_MODES
from .errors import CardError, CardErrors

try:  # the C composer is ~10x faster and keeps the same marks
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

# Keys a topic file may set as the default of its cards
DEFAULTED = ("tolerance", "whitespace", "tensorflow", "keras", "requires")
FILE_KEYS = ("topic", "deck", "description", "setup", "cards") + DEFAULTED
CARD_KEYS = ("id", "front", "back", "extra", "tags", "code", "output", "raises", "code_on", "tolerance",
             "timeout", "skip", "type", "topic", "whitespace", "tensorflow", "keras", "requires",
             "figure", "allow")
DECK_FILES = ("deck.yaml", "deck.yml")  # the learning path, not a topic file
DECK_KEYS = ("topics",)
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
TAG_RE = re.compile(r"[a-z0-9_-]+\Z")
MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
RAISES_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(:\s.*)?\Z", re.S)
IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
NULL_TAG = "tag:yaml.org,2002:null"
# Bounds on what a deck can make the loader read, each about 20x the largest in the shipped
# deck or the TensorFlow docstring corpus (a field of 2.8 KB, a file of 190 KB): past them
# a card is not a flashcard, and the patterns read over its text are not worth a minute.
MAX_FIELD = 64 << 10  # characters of one text field
MAX_FILE = 4 << 20  # bytes of one topic file (or deck.yaml)
MAX_CLOZES = 100  # deletions on one cloze card (the deck's most: 3); the spoiler rule reads the
# front once per deletion


def topic_files(paths: Iterable[Path | str]) -> list[Path]:
    """Every topic file named by PATHS: a directory's in its learning path's order (`deck.yaml`),
    else searched recursively in sorted order."""
    found: list[Path] = []
    paths = [Path(p) for p in paths]
    for p in paths:
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()
                           and not (f.parent == p and f.name in DECK_FILES))
            found.extend(learning_path(p, files))
        elif p.is_file():
            found.append(p)
        else:
            raise CardError("no such file or directory", p)
    if not found:
        raise CardError("no topic files (*.yaml, *.yml) found", ", ".join(map(str, paths)))
    return list(dict.fromkeys(found))


def topic_stem(directory: Path, file: Path) -> str:
    """How `deck.yaml` names a topic file: its path below the card directory, without suffix."""
    return file.relative_to(directory).with_suffix("").as_posix()


def learning_path(directory: Path, files: list[Path]) -> list[Path]:
    """FILES (topic files below DIRECTORY) in the order its `deck.yaml` lists them; every one must
    be listed once. Without a `deck.yaml`, FILES as they are."""
    deck_file = next((directory / n for n in DECK_FILES if (directory / n).is_file()), None)
    if deck_file is None:
        return files
    errors: list[CardError] = []
    root = _compose(deck_file, errors)
    if root is not None and not isinstance(root, yaml.MappingNode):
        errors.append(CardError("a deck file must be a mapping with 'topics', e.g. topics: [tensors, keras]",
                                deck_file, 1))
    if errors or root is None:
        raise CardErrors(errors or [CardError("empty deck file: list the topics, e.g. topics: [tensors]", deck_file, 1)])
    fields = _Fields(root, deck_file, errors, DECK_KEYS)
    by_stem = {topic_stem(directory, f): f for f in files}
    node = fields.nodes.get("topics")
    if node is None:
        fields.error("missing required key 'topics'")
    elif not isinstance(node, yaml.SequenceNode) or not all(isinstance(n, yaml.ScalarNode) for n in node.value):
        fields.error("'topics' must be a list of topic file stems", fields.key_lines["topics"])
    else:
        ordered: dict[str, Path] = {}
        for item in node.value:
            line = item.start_mark.line + 1
            if item.value in ordered:
                fields.error(f"topic '{item.value}' is listed twice", line)
            elif item.value not in by_stem:
                hint = difflib.get_close_matches(item.value, list(by_stem), n=1)
                fields.error(f"no topic file '{item.value}' (.yaml) in {directory}"
                             + (f" (did you mean '{hint[0]}'?)" if hint else ""), line)
            else:
                ordered[item.value] = by_stem[item.value]
        for stem, f in by_stem.items():
            if stem not in ordered and not errors:
                fields.error(f"topic file {f.name} is not in the learning path: add '{stem}' to 'topics'",
                             fields.key_lines["topics"])
        if not errors:
            return list(ordered.values())
    raise CardErrors(errors)


def _compose(path: Path, errors: list[CardError]) -> yaml.Node | None:
    """PATH's YAML node graph, or None with the located error recorded."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            errors.append(CardError(f"the file is {size:,} bytes; a topic file holds at most {MAX_FILE:,} "
                                    "(split it into several topics)", path))
            return None
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=_Loader)
    except UnicodeDecodeError as e:
        errors.append(CardError(f"not UTF-8 text ({e.reason})", path))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = " ".join(str(x) for x in (e.context, e.problem) if x)
        errors.append(CardError(f"YAML syntax error: {problem}{_yaml_hint(problem)}", path,
                                mark.line + 1 if mark else None))
    except yaml.YAMLError as e:
        errors.append(CardError(f"YAML error: {e}", path))
    else:
        reused = _reused_node(root)
        if reused is None:
            return root
        errors.append(CardError("a YAML alias repeats the node anchored here: aliases are not supported "
                                "(a topic file's own keys give its cards defaults)", path,
                                reused.start_mark.line + 1))
    return None


def _reused_node(root: yaml.Node | None) -> yaml.Node | None:
    """A node that appears twice in ROOT's graph: what an alias makes. A few hundred bytes of
    aliases can stand for billions of nodes, so the loader accepts none."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return node
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
    return None


def load_cards(paths: Iterable[Path | str]) -> list[Card]:
    """All cards under PATHS; raises CardErrors listing every problem found, not just the first."""
    files = topic_files(paths)
    errors: list[CardError] = []
    cards: list[Card] = []
    for f in files:
        cards.extend(_load_file(f, errors))
    seen: dict[str, Card] = {}
    for card in cards:
        first = seen.setdefault(card.id, card)
        if first is not card:
            errors.append(CardError(f"duplicate id, first used at {_where(first)}", card.file,
                                    card.line, card.id))
    if errors:
        # files in order; within a card its root causes (a typo'd key) before what follows from them
        errors.sort(key=lambda e: (str(e.path), getattr(e, "card_line", None) or e.line or 0,
                                   not getattr(e, "root", False), e.line or 0))
        raise CardErrors(errors)
    return cards


def load_file(path: Path | str) -> list[Card]:
    """The cards of one topic file (ids are checked within the file only)."""
    return load_cards([path])


def _where(card: Card) -> str:
    from .errors import display_path
    return f"{display_path(card.file)}:{card.line}"


class _Fields:
    """Typed access to one YAML mapping's values, recording errors with their lines."""

    def __init__(self, node: yaml.MappingNode, path: Path, errors: list[CardError],
                 allowed: tuple[str, ...], card_id: str | None = None) -> None:
        self.path, self.errors, self.card_id = path, errors, card_id
        self.line = node.start_mark.line + 1
        self.nodes: dict[str, yaml.Node] = {}
        self.key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                self.error(f"unknown key '{key}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""),
                           line, root=True)
                continue
            if key in self.nodes:
                self.error(f"duplicate key '{key}' (first at line {self.key_lines[key]})", line, root=True)
                continue
            self.nodes[key], self.key_lines[key] = value_node, line

    def error(self, message: str, line: int | None = None, root: bool = False) -> None:
        error = CardError(message, self.path, line or self.line, self.card_id)
        error.card_line, error.root = self.line, root  # for ordering: see load_cards
        self.errors.append(error)

    def text(self, key: str, required: bool = False) -> str | None:
        node = self.nodes.get(key)
        if node is None:
            if required:
                self.error(f"missing required key '{key}'")
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag == NULL_TAG:
            self.error(f"'{key}' must be text", self.key_lines[key])
            return None
        if len(node.value) > MAX_FIELD:
            self.error(f"'{key}' is {len(node.value):,} characters long; a field holds at most {MAX_FIELD:,} "
                       "(64 KiB): split the card", self.key_lines[key])
            return None
        return node.value  # the raw scalar: `output: 4` is the text "4", not an int

    def number(self, key: str) -> float | None:
        raw = self.text(key)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value > 0 or value != value or value == float("inf"):
            self.error(f"'{key}' must be a positive number, not {raw!r}", self.key_lines[key])
            return None
        return value

    def words(self, key: str, pattern: re.Pattern = TAG_RE,
              bad: str = "bad tag '{}': use lowercase letters, digits, '_' and '-'") -> tuple[str, ...]:
        """A list of words each matching PATTERN (tags, module names, topic stems)."""
        node = self.nodes.get(key)
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode) or not all(
                isinstance(n, yaml.ScalarNode) for n in node.value):
            self.error(f"'{key}' must be a list of words", self.key_lines[key])
            return ()
        words = tuple(n.value for n in node.value)
        for w in words:
            if not pattern.match(w):
                self.error(bad.format(w), self.key_lines[key])
        return words

    def modules(self, key: str) -> tuple[str, ...]:
        return self.words(key, MODULE_RE, "'" + key + "' names '{}', which is not a Python module name")

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(key)
        if value is not None and value not in choices:
            self.error(f"'{key}' must be one of {', '.join(choices)}, not '{value}'", self.key_lines[key])
            return None
        return value

    def specifier(self, key: str) -> str | None:
        """A PEP 440 version specifier (`>=2.16`), checked now so a typo fails at load."""
        value = self.text(key)
        if value is None:
            return None
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            self.error(f"'{key}' must be a version specifier such as '>=2.16' or '>=2.15,<2.17', "
                       f"not {value!r}", self.key_lines[key])
            return None
        return value.strip()

    def reasons(self, key: str, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """A mapping of NAMES to non-empty reasons, e.g. `allow: {grounded: "rounded"}`."""
        node = self.nodes.get(key)
        if node is None:
            return ()
        if not isinstance(node, yaml.MappingNode):
            self.error(f"'{key}' must map rule names to reasons, e.g. "
                       f"{key}: {{grounded: \"the answer rounds the printed float\"}}", self.key_lines[key])
            return ()
        found = []
        for k, v in node.value:
            line = k.start_mark.line + 1
            if not isinstance(k, yaml.ScalarNode) or k.value not in names:
                hint = difflib.get_close_matches(str(k.value), names, n=1)
                self.error(f"'{key}' names an unknown rule '{k.value}'"
                           + (f" (did you mean '{hint[0]}'?)" if hint else f"; rules: {', '.join(names)}"), line)
            elif not isinstance(v, yaml.ScalarNode) or v.tag == NULL_TAG or not v.value.strip():
                self.error(f"'{key}: {k.value}' needs a reason", line)
            else:
                found.append((k.value, v.value.strip()))
        return tuple(found)

    def first_line(self, key: str) -> int:
        """The file line of a scalar's first content line (block scalars start below the key)."""
        node = self.nodes.get(key)
        if node is None:
            return 0
        return node.start_mark.line + (2 if node.style in ("|", ">") else 1)


def _load_file(path: Path, errors: list[CardError]) -> list[Card]:
    n_errors = len(errors)
    root = _compose(path, errors)
    if len(errors) > n_errors:
        return []
    if not isinstance(root, yaml.MappingNode):
        errors.append(CardError("a topic file must be a mapping with 'topic' and 'cards'", path, 1))
        return []
    top = _Fields(root, path, errors, FILE_KEYS)
    topic = top.text("topic", required=True)
    deck = top.text("deck") or "TensorFlow"
    description = top.text("description")
    setup = top.text("setup")
    setup_line = top.first_line("setup")
    defaults = {"tolerance": top.number("tolerance"),
                "whitespace": top.choice("whitespace", WHITESPACE_MODES),
                "tensorflow": top.specifier("tensorflow"),
                "keras": top.specifier("keras"),
                "requires": top.modules("requires")}
    if setup is not None:
        _check_python(setup, "setup", setup_line, top.error)
    cards_node = top.nodes.get("cards")
    if cards_node is None:
        top.error("missing required key 'cards'")
        return []
    if not isinstance(cards_node, yaml.SequenceNode) or not cards_node.value:
        top.error("'cards' must be a non-empty list of cards", top.key_lines["cards"])
        return []
    cards = []
    for node in cards_node.value:
        card = _load_card(node, path, errors, topic or "", deck, setup, setup_line, description, defaults)
        if card is not None:
            cards.append(card)
    return cards


YAML_HINTS = (  # the parser's words -> what the author most likely has to do
    ("mapping values are not allowed", "a value containing ': ' must be quoted, e.g. back: \"`x`: y\""),
    ("found character '\\t'", "indent with spaces, not tabs"),
    ("could not find expected ':'", "a multi-line value needs '|' after its key, or quotes"),
    ("expected <block end>, but found", "check the indentation of this line against the lines above"),
    ("found undefined alias", "a value starting with '*' must be quoted"),
    ("found unexpected end of stream", "a quote or bracket is not closed"),
    ("found character '`' that cannot start any token", "a value starting with '`' must be quoted"),
)


def _yaml_hint(problem: str) -> str:
    for words, hint in YAML_HINTS:
        if words in problem:
            return f" (hint: {hint})"
    return ""


def _load_card(node: yaml.Node, path: Path, errors: list[CardError], topic: str, deck: str,
               setup: str | None, setup_line: int, description: str | None,
               defaults: dict) -> Card | None:
    if not isinstance(node, yaml.MappingNode):
        errors.append(CardError("each card must be a mapping of keys", path, node.start_mark.line + 1))
        return None
    id_node = next((v for k, v in node.value if getattr(k, "value", None) == "id"), None)
    card_id = id_node.value if isinstance(id_node, yaml.ScalarNode) else None
    n_errors = len(errors)
    f = _Fields(node, path, errors, CARD_KEYS, card_id)
    line = f.key_lines.get("id", f.line)
    f.line = line
    for error in errors[n_errors:]:
        error.card_line = line
    cid = f.text("id", required=True)
    if cid is not None and (not ID_RE.match(cid) or len(cid) > 64):
        f.error(f"bad id '{cid}': use at most 64 of a-z, 0-9 and '-', starting with a letter or digit")
    ctype = f.text("type") or "basic"
    if ctype not in CARD_TYPES:
        f.error(f"'type' must be one of {', '.join(CARD_TYPES)}, not '{ctype}'", f.key_lines["type"])
    front = f.text("front", required=True)
    back = f.text("back", required=ctype != "cloze") or ""
    deletions = len(clozes(front)) if ctype == "cloze" and front is not None else None
    if deletions == 0:
        f.error("a cloze card's 'front' needs at least one {{c1::...}} deletion", f.key_lines["front"])
    elif deletions is not None and deletions > MAX_CLOZES:
        f.error(f"a cloze card's 'front' has {deletions:,} deletions; at most {MAX_CLOZES} (split the card)",
                f.key_lines["front"])
    code, output, raises = f.text("code"), f.text("output"), f.text("raises")
    code_line = f.first_line("code")
    given = f.nodes.keys()  # a key given but refused (too long, not text) has its own error
    if code is not None:
        _check_python(code, "code", code_line, f.error)
        if not {"output", "raises"} & given:
            f.error("a card with 'code' needs 'output' or 'raises' (or both)", f.key_lines["code"])
    elif "code" not in given and {"output", "raises"} & given:
        key = "output" if "output" in given else "raises"
        f.error(f"'{key}' without 'code': there is nothing to check it against", f.key_lines[key])
    if raises is not None and not RAISES_RE.match(raises):
        f.error(f"'raises' must be an exception class name, optionally followed by ': message', "
                f"not {raises!r}", f.key_lines["raises"])
    code_on = f.text("code_on") or "front"
    if code_on not in CODE_ON:
        f.error(f"'code_on' must be 'front' or 'back', not '{code_on}'", f.key_lines["code_on"])
    tolerance = f.number("tolerance") if "tolerance" in f.nodes else defaults["tolerance"]
    whitespace = (f.choice("whitespace", WHITESPACE_MODES) if "whitespace" in f.nodes
                  else defaults["whitespace"]) or "normalize"
    tf_range = f.specifier("tensorflow") if "tensorflow" in f.nodes else defaults["tensorflow"]
    keras_range = f.specifier("keras") if "keras" in f.nodes else defaults["keras"]
    requires = f.modules("requires") if "requires" in f.nodes else defaults["requires"]
    extra = f.text("extra") or ""
    figure = f.choice("figure", FIGURE_SIDES)
    if figure is not None and code is None:
        f.error("'figure' without 'code': a figure is drawn by the card's code", f.key_lines["figure"])
    allow = f.reasons("allow", RULE_NAMES)
    timeout = f.number("timeout") or 60.0
    skip = f.text("skip")
    if skip is not None and not skip.strip():
        f.error("'skip' needs a reason", f.key_lines["skip"])
    tags = f.words("tags")
    card_topic = f.text("topic") or topic
    images = _images(front or "", back, path, f, extra)
    if len(errors) > n_errors or cid is None or front is None:
        return None
    return Card(id=cid, topic=card_topic, front=front, back=back, file=path, line=line, deck=deck,
                type=ctype, tags=tags, code=code, output=output, raises=raises, code_on=code_on,
                tolerance=tolerance, timeout=timeout, skip=skip, setup=setup, code_line=code_line,
                setup_line=setup_line, images=images, description=description, whitespace=whitespace,
                tensorflow=tf_range, allow=allow, extra=extra, figure=figure, requires=requires,
                keras=keras_range)


def _images(front: str, back: str, path: Path, f: _Fields, extra: str = "") -> tuple[Path, ...]:
    found = []
    for key, text in (("front", front), ("back", back), ("extra", extra)):
        for target in IMAGE_RE.findall(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                f.error(f"image '{target}' must be a file next to the cards, not a URL",
                        f.key_lines.get(key))
                continue
            image = (path.parent / target).resolve()
            if not image.is_file():
                f.error(f"image '{target}' not found (looked for {image})", f.key_lines.get(key))
            else:
                found.append(image)
    return tuple(dict.fromkeys(found))


def _check_python(source: str, key: str, first_line: int, error) -> None:
    try:
        compile(source, f"<{key}>", "exec", dont_inherit=True)
    except SyntaxError as e:
        line = first_line + (e.lineno or 1) - 1 if first_line else None
        error(f"'{key}' is not valid Python: {e.msg}", line)


def _names_topic(word: str, card: Card) -> bool:
    word = word.strip().lower()
    return word in (card.topic.lower(), card.topic_slug, card.file.stem.lower()) or slugify(word) == card.topic_slug


def filter_cards(cards: list[Card], topics: Iterable[str] = (), tags: Iterable[str] = ()) -> list[Card]:
    """Cards matching any of TOPICS and any of TAGS; no match is an error.

    A topic is named by what a user sees: its name, its slug or its file's stem, in any case
    (`--topic quantization` for "Post-training quantization" in cards/quantization.yaml).
    """
    topics, tags = list(topics), list(tags)
    kept = cards
    if topics:
        chosen: set[str] = set()
        for word in topics:
            found = sorted({c.topic for c in cards if _names_topic(word, c)})
            if len(found) > 1:
                raise CardError(f"topic {word!r} is ambiguous: it names {', '.join(map(repr, found))}; "
                                "use the full name")
            chosen.update(found)
        kept = [c for c in kept if c.topic in chosen]
        if not kept:
            have = ", ".join(sorted({c.topic for c in cards})) or "none"
            raise CardError(f"no card has topic {' or '.join(map(repr, topics))}; topics: {have}")
    if tags:
        before = kept
        kept = [c for c in kept if set(c.tags) & set(tags)]
        if not kept:
            have = ", ".join(sorted({t for c in before for t in c.tags})) or "none"
            raise CardError(f"no card has tag {' or '.join(map(repr, tags))}; tags: {have}")
    return kept
