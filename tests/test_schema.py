"""`tfcards schema`: the JSON Schema an editor checks card files with agrees with the loader, key by
key, on what is accepted and what is refused; the committed copies are what the command prints,
and every shipped file names its schema and satisfies it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from generator import fields, schema
from generator.cli import main
from generator.errors import CardError, CardErrors
from generator.load import DECK_FILES, load_cards

ROOT = Path(__file__).resolve().parent.parent
CARD = {"id": "c", "front": "q", "back": "a", "code": "print(1)", "output": "1"}
TOPIC = {"topic": "T", "cards": [CARD]}


def validator(kind: str) -> Draft202012Validator:
    """The committed schema: the one editors read."""
    return Draft202012Validator(json.loads((schema.SCHEMA_DIR / f"{kind}.schema.json").read_text()))


@pytest.mark.parametrize("kind", schema.KINDS)
def test_committed_schema_is_what_the_command_prints_and_a_valid_2020_12_schema(kind, tmp_path):
    committed = (schema.SCHEMA_DIR / f"{kind}.schema.json").read_text()
    printed = CliRunner().invoke(main, ["schema", kind])
    assert printed.exit_code == 0 and printed.output == committed, f"run: tfcards schema {kind} --output schema/{kind}.schema.json"
    written = CliRunner().invoke(main, ["schema", kind, "--output", str(tmp_path / "s.json")])
    assert written.exit_code == 0 and (tmp_path / "s.json").read_text() == committed
    Draft202012Validator.check_schema(json.loads(committed))
    assert json.loads(committed)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def shipped() -> list[Path]:
    return sorted(p for p in (ROOT / "cards").iterdir() if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.name)
def test_every_shipped_file_names_its_schema_and_satisfies_it(path):
    kind = "deck" if path.name in DECK_FILES else "topic"
    assert path.read_text().splitlines()[0] == schema.modeline(kind)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator(kind).iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def loads(tmp_path: Path, topic: dict, deck: dict | None = None) -> bool:
    """Whether the loader accepts TOPIC (as cards/t.yaml, beside DECK as deck.yaml)."""
    root = tmp_path / "cards"
    root.mkdir(exist_ok=True)
    (root / "t.yaml").write_text(yaml.safe_dump(topic, sort_keys=False))
    if deck is not None:
        (root / "deck.yaml").write_text(yaml.safe_dump(deck))
    try:
        load_cards([root])
    except (CardError, CardErrors):
        return False
    return True


def card(**changes) -> dict:
    return {"topic": "T", "cards": [{k: v for k, v in {**CARD, **changes}.items() if v is not None}]}


MISTAKES = {  # the typical mistakes, as an author makes them
    "unknown key": card(ouput="1"),
    "bad code_on": card(code_on="side"),
    "bad id": card(id="Bad_Id"),
    "missing front": card(front=None),
    "tags not a list": card(tags="eager"),
    "missing back": card(back=None),
    "output without code": card(code=None),
    "code without output": card(output=None),
    "no cards": {"topic": "T", "cards": []},
    "unknown file key": {**TOPIC, "dek": "X"},
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_typical_mistakes_are_refused_by_both_the_schema_and_the_loader(mistake, tmp_path):
    data = MISTAKES[mistake]
    assert not validator("topic").is_valid(data)
    assert not loads(tmp_path, data)


def values(field: fields.Field) -> tuple[list, list]:
    """Values of FIELD's kind the loader and the schema must both accept, and both refuse."""
    if field.kind == "text":
        good = {"id": "ok-id", "raises": "ValueError: no", "setup": "x = 1", "code": "print(2)"}.get(field.name, "text")
        bad = [["a", "list"], {"a": "mapping"}]
        if field.pattern:
            bad.append({"id": "Bad_Id", "raises": "not a class", "skip": " "}[field.name])
        if field.max_length:
            bad.append("a" * (field.max_length + 1))
        return [good], bad
    if field.kind == "number":
        return [2, 0.5, "1e-6"], [0, -1, "soon", [1]]
    if field.kind == "choice":
        return list(field.choices), ["nope", ["front"]]
    if field.kind == "words":
        if field.name == "topics":
            return [["t"]], ["t", [["t"]]]
        return [[], ["json", "os_path"]], ["word", ["Not A Word"], [["nested"]]]
    if field.kind == "specifier":
        return [">=2.0", ">=2.15,<3"], ["2.16+", 2.16, ["x"]]
    if field.kind == "reasons":
        return [{"api": "a reason"}], [{"nope": "x"}, {"api": ""}, ["api"]]
    assert field.kind == "cards"
    return [[CARD]], [[], "cards", [["list"]]]


def cases():
    for where, table in (("card", fields.CARD), ("file", fields.FILE), ("deck", fields.DECK)):
        for field in table:
            good, bad = values(field)
            yield from (pytest.param(where, field.name, v, True, id=f"{where}-{field.name}-ok-{i}")
                        for i, v in enumerate(good))
            yield from (pytest.param(where, field.name, v, False, id=f"{where}-{field.name}-bad-{i}")
                        for i, v in enumerate(bad))


@pytest.mark.parametrize("where, key, value, ok", list(cases()))
def test_schema_and_loader_agree_on_every_field_of_the_table(where, key, value, ok, tmp_path):
    """Made from one table, they cannot drift: each key's good values pass both, bad ones neither."""
    if where == "deck":
        topic, deck = TOPIC, {key: value}
        assert validator("deck").is_valid(deck) == ok
    else:
        cloze = {"front": "{{c1::q}}"} if value == "cloze" else {}  # a cloze card needs a deletion
        topic, deck = ({**TOPIC, key: value} if where == "file" else card(**{key: value}, **cloze)), None
        assert validator("topic").is_valid(topic) == ok, list(validator("topic").iter_errors(topic))
    assert loads(tmp_path, topic, deck) == ok


def test_a_cloze_card_needs_no_back_in_either():
    cloze = card(type="cloze", front="{{c1::x}}", back=None)
    assert validator("topic").is_valid(cloze)
