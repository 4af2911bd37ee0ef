"""JSON Schemas (draft 2020-12) of topic files and `deck.yaml`, made from the loader's own field
table (generator/fields.py), so an editor completes and checks a card file as the loader reads it.

The committed copies (schema/*.schema.json) are what the shipped files' first line names:
`# yaml-language-server: $schema=../schema/topic.schema.json`.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import fields as table

DRAFT = "https://json-schema.org/draft/2020-12/schema"
KINDS = ("topic", "deck")
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"  # the committed copies
SCALAR = ["string", "number", "boolean"]  # YAML reads `output: 4` as a number: the loader keeps its text


def schema(kind: str = "topic") -> dict:
    """The schema of a topic file (KIND "topic") or of deck.yaml ("deck")."""
    if kind == "deck":
        return {"$schema": DRAFT, "title": "tfcards deck.yaml (the learning path)",
                **_object(table.DECK)}
    card = _object(table.CARD)
    card["allOf"] = [  # the loader's rules between keys
        {"if": {"required": ["type"], "properties": {"type": {"const": "cloze"}}},
         "else": {"required": ["back"]}},
        {"if": {"required": ["code"]}, "then": {"anyOf": [{"required": ["output"]}, {"required": ["raises"]}]}},
    ]
    card["dependentRequired"] = {"output": ["code"], "raises": ["code"], "figure": ["code"]}
    return {"$schema": DRAFT, "title": "tfcards topic file",
            **_object(table.FILE), "$defs": {"card": card}}


def text(kind: str = "topic") -> str:
    """The schema as the committed file holds it."""
    return json.dumps(schema(kind), indent=2) + "\n"


def modeline(kind: str = "topic") -> str:
    """The first line of a shipped file in cards/: where editors find its schema."""
    return f"# yaml-language-server: $schema=../schema/{kind}.schema.json"


def _object(fields: tuple[table.Field, ...]) -> dict:
    return {"type": "object",
            "properties": {f.name: {"description": f.help, **_value(f)} for f in fields},
            "required": [f.name for f in fields if f.required],
            "additionalProperties": False}


def _value(field: table.Field) -> dict:
    kind = field.kind
    if kind == "text":
        out: dict = {"type": SCALAR}
        if field.pattern:
            out.update(type="string", pattern=_anchored(field.pattern))
        if field.max_length:
            out["maxLength"] = field.max_length
        return out
    if kind == "number":
        return {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                          {"type": "string", "pattern": _anchored(table.POSITIVE)}]}
    if kind == "choice":
        return {"enum": list(field.choices)}
    if kind == "words":
        item: dict = {"type": ["string", "number"]}
        if field.pattern:
            item["pattern"] = _anchored(field.pattern)
        return {"type": "array", "items": item}
    if kind == "specifier":
        return {"type": "string", "pattern": _anchored(table.SPECIFIER)}
    if kind == "reasons":
        return {"type": "object", "propertyNames": {"enum": list(field.choices)},
                "additionalProperties": {"type": SCALAR, "pattern": r"\S"}}
    assert kind == "cards", kind
    return {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/card"}}


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"
