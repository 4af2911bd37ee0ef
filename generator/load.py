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

from . import fields as table
from . import images as _images
from .cards import Card, clozes, slugify
from .errors import CardError, CardErrors

try:  # the C composer is ~10x faster and keeps the same marks
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

# The keys of a topic file, a card and deck.yaml, with their types: generator/fields.py
FILE_FIELDS, CARD_FIELDS, DECK_FIELDS = (table.by_name(t) for t in (table.FILE, table.CARD, table.DECK))
DEFAULTED = tuple(f.name for f in table.DEFAULTED)  # keys a topic file may set as its cards' default
DECK_FILES = ("deck.yaml", "deck.yml")  # the learning path, not a topic file
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
    return list(topic_sources(paths))


def topic_sources(paths: Iterable[Path | str]) -> dict[Path, Path]:
    """Every topic file named by PATHS (as `topic_files` orders them), mapped to its deck
    directory: the directory given, or for a file given, its own directory. A card's images
    must be files inside it."""
    found: dict[Path, Path] = {}
    paths = [Path(p) for p in paths]
    for p in paths:
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()
                           and not (f.parent == p and f.name in DECK_FILES))
            for f in learning_path(p, files):
                found.setdefault(f, p)
        elif p.is_file():
            found.setdefault(p, p.parent)
        else:
            raise CardError("no such file or directory", p)
    if not found:
        raise CardError("no topic files (*.yaml, *.yml) found", ", ".join(map(str, paths)))
    return found


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
    fields = _Fields(root, deck_file, errors, DECK_FIELDS)
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
    return _load(topic_sources(paths))


def load_file(path: Path | str, deck_dir: Path | str | None = None) -> list[Card]:
    """The cards of one topic file (ids are checked within the file only); its images must be
    inside DECK_DIR (default: the file's directory)."""
    path = Path(path)
    if deck_dir is None or not path.is_file():
        return load_cards([path])
    return _load({path: Path(deck_dir)})


def _load(sources: dict[Path, Path]) -> list[Card]:
    """The cards of each topic file in SOURCES, its images inside the deck directory it maps to."""
    errors: list[CardError] = []
    cards: list[Card] = []
    ids: list[tuple[str, Path, int]] = []  # every card's id, whether the card loaded or not
    for f, deck_dir in sources.items():
        cards.extend(_load_file(f, deck_dir, errors, ids))
    first: dict[str, tuple[Path, int]] = {}  # a card with another error still holds its id
    for card_id, path, line in ids:
        where = first.setdefault(card_id, (path, line))
        if where != (path, line):
            errors.append(CardError(f"duplicate id, first used at {_where(*where)}", path, line, card_id))
    if errors:
        # files in order; within a card its root causes (a typo'd key) before what follows from them
        errors.sort(key=lambda e: (str(e.path), getattr(e, "card_line", None) or e.line or 0,
                                   not getattr(e, "root", False), e.line or 0))
        raise CardErrors(errors)
    return cards


def _where(path: Path, line: int) -> str:
    from .errors import display_path
    return f"{display_path(path)}:{line}"


class _Fields:
    """Typed access to one YAML mapping's values, recording errors with their lines."""

    def __init__(self, node: yaml.MappingNode, path: Path, errors: list[CardError],
                 fields: dict[str, table.Field], card_id: str | None = None) -> None:
        self.path, self.errors, self.card_id, self.fields = path, errors, card_id, fields
        allowed = tuple(fields)
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

    def get(self, key: str, required: bool | None = None):
        """KEY's value, read as the field table types it; None (a list: empty) when it is absent
        or unreadable. A text that breaks its pattern is returned, with its error recorded."""
        field = self.fields[key]
        if field.kind == "number":
            return self.number(key)
        if field.kind == "choice":
            return self.choice(key, field.choices, field.bad)
        if field.kind == "words":
            return self.words(key, re.compile(field.pattern or ".*"), field.bad or "")
        if field.kind == "specifier":
            return self.specifier(key)
        if field.kind == "reasons":
            return self.reasons(key, field.choices)
        assert field.kind == "text", field.kind  # "cards" is read by _load_file itself
        value = self.text(key, field.required if required is None else required)
        if value is not None and field.pattern and (
                not re.fullmatch(field.pattern, value) or len(value) > (field.max_length or len(value))):
            self.error(field.bad.format(value=value), self.key_lines[key])
        return value

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

    def words(self, key: str, pattern: re.Pattern, bad: str) -> tuple[str, ...]:
        """A list of words each matching PATTERN in full (tags, module names)."""
        node = self.nodes.get(key)
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode) or not all(
                isinstance(n, yaml.ScalarNode) for n in node.value):
            self.error(f"'{key}' must be a list of words", self.key_lines[key])
            return ()
        words = tuple(n.value for n in node.value)
        for w in words:
            if not pattern.fullmatch(w):
                self.error(bad.format(value=w), self.key_lines[key])
        return words

    def choice(self, key: str, choices: tuple[str, ...], bad: str | None = None) -> str | None:
        value = self.text(key)
        if value is not None and value not in choices:
            self.error((bad or f"'{key}' must be one of {', '.join(choices)}, not '{{value}}'").format(value=value),
                       self.key_lines[key])
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
        return node.start_mark.line + (2 if getattr(node, "style", None) in ("|", ">") else 1)  # a list has none


def _load_file(path: Path, deck_dir: Path, errors: list[CardError], ids: list[tuple[str, Path, int]]) -> list[Card]:
    n_errors = len(errors)
    root = _compose(path, errors)
    if len(errors) > n_errors:
        return []
    if not isinstance(root, yaml.MappingNode):
        errors.append(CardError("a topic file must be a mapping with 'topic' and 'cards'", path, 1))
        return []
    top = _Fields(root, path, errors, FILE_FIELDS)
    topic = top.get("topic")
    deck = top.get("deck") or "TensorFlow"
    description = top.get("description")
    setup = top.get("setup")
    setup_line = top.first_line("setup")
    defaults = {key: top.get(key) for key in DEFAULTED}
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
        card = _load_card(node, path, deck_dir, errors, topic or "", deck, setup, setup_line, description,
                          defaults, ids)
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


def _load_card(node: yaml.Node, path: Path, deck_dir: Path, errors: list[CardError], topic: str, deck: str,
               setup: str | None, setup_line: int, description: str | None,
               defaults: dict, ids: list[tuple[str, Path, int]]) -> Card | None:
    if not isinstance(node, yaml.MappingNode):
        errors.append(CardError("each card must be a mapping of keys", path, node.start_mark.line + 1))
        return None
    id_node = next((v for k, v in node.value if getattr(k, "value", None) == "id"), None)
    card_id = id_node.value if isinstance(id_node, yaml.ScalarNode) else None
    n_errors = len(errors)
    f = _Fields(node, path, errors, CARD_FIELDS, card_id)
    line = f.key_lines.get("id", f.line)
    f.line = line
    for error in errors[n_errors:]:
        error.card_line = line
    n_id_errors = len(errors)
    cid = f.get("id")
    if cid is not None and len(errors) == n_id_errors:
        ids.append((cid, path, line))
    ctype = f.get("type") or "basic"
    front = f.get("front")
    back = f.get("back", required=ctype != "cloze") or ""
    deletions = len(clozes(front)) if ctype == "cloze" and front is not None else None
    if deletions == 0:
        f.error("a cloze card's 'front' needs at least one {{c1::...}} deletion", f.key_lines["front"])
    elif deletions is not None and deletions > MAX_CLOZES:
        f.error(f"a cloze card's 'front' has {deletions:,} deletions; at most {MAX_CLOZES} (split the card)",
                f.key_lines["front"])
    code, output, raises = f.get("code"), f.get("output"), f.get("raises")
    code_line = f.first_line("code")
    given = f.nodes.keys()  # a key given but refused (too long, not text) has its own error
    if code is not None:
        _check_python(code, "code", code_line, f.error)
        if not {"output", "raises"} & given:
            f.error("a card with 'code' needs 'output' or 'raises' (or both)", f.key_lines["code"])
    elif "code" not in given and {"output", "raises"} & given:
        key = "output" if "output" in given else "raises"
        f.error(f"'{key}' without 'code': there is nothing to check it against", f.key_lines[key])
    code_on = f.get("code_on") or "front"
    own = {key: f.get(key) if key in f.nodes else defaults[key] for key in DEFAULTED}  # else the file's
    extra = f.get("extra") or ""
    figure = f.get("figure")
    if figure is not None and code is None:
        f.error("'figure' without 'code': a figure is drawn by the card's code", f.key_lines["figure"])
    allow = f.get("allow")
    timeout = f.get("timeout") or 60.0
    skip = f.get("skip")
    tags = f.get("tags")
    card_topic = f.get("topic") or topic
    images = _card_images(f, path.parent, deck_dir, front=front or "", back=back, extra=extra)
    if len(errors) > n_errors or cid is None or front is None:
        return None
    return Card(id=cid, topic=card_topic, front=front, back=back, file=path, line=line, deck=deck,
                type=ctype, tags=tags, code=code, output=output, raises=raises, code_on=code_on,
                tolerance=own["tolerance"], timeout=timeout, skip=skip, setup=setup, code_line=code_line,
                setup_line=setup_line, images=images, description=description,
                whitespace=own["whitespace"] or "normalize", tensorflow=own["tensorflow"], allow=allow,
                extra=extra, figure=figure, requires=own["requires"], keras=own["keras"])


def _card_images(f: _Fields, topic_dir: Path, deck_dir: Path, **fields: str) -> tuple[Path, ...]:
    """The images the Markdown FIELDS name, each accepted (images.accept) or a located error."""
    found = []
    for key, text in fields.items():
        for target, offset in _images.links(text):
            literal = key in f.nodes and f.nodes[key].style == "|"
            line = f.first_line(key) + offset if literal else f.key_lines.get(key)
            try:
                found.append(_images.accept(target, topic_dir, deck_dir))
            except _images.Refused as e:
                f.error(f"image '{target}' {e}", line)
            except OSError as e:  # unreadable: a permission, a file gone since the look
                f.error(f"image '{target}' cannot be read ({e.strerror})", line)
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
            tagged = " or ".join(map(repr, tags))
            if topics and any(set(c.tags) & set(tags) for c in cards):  # the tag is there, elsewhere
                raise CardError(f"no card has both topic {' or '.join(map(repr, topics))} and tag {tagged}; "
                                f"tags of {'that topic' if len(topics) == 1 else 'those topics'}: {have}")
            raise CardError(f"no card has tag {tagged}; tags: {have}")
    return kept
