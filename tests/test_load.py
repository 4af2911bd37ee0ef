"""The loader: every rule of CARD_FORMAT.md, each error naming file, line and card id."""
from __future__ import annotations

import pytest

from generator.errors import CardError, CardErrors
from generator.load import filter_cards, load_cards

GOOD = """
topic: Post-training quantization
deck: TF
description: Smaller models.
setup: |
  x = 1
cards:
  - id: first-card
    front: Q?
    back: A.
    tags: [tflite, sizes]
    code: |
      print(x)
    output: 1
  - id: cloze-card
    type: cloze
    front: A {{c1::variable}} keeps state.
  - id: other-topic
    topic: Elsewhere
    front: Q
    back: A
    code: "int('x')"
    raises: ValueError
    code_on: back
    tolerance: 1e-5
    timeout: 5
  - id: skipped-card
    type: reverse
    front: Q
    back: A
    skip: needs a GPU
    code: print(1)
    output: "1"
"""


def test_good_file_applies_every_default(write_cards):
    cards = load_cards([write_cards({"q.yaml": GOOD})])
    first, cloze, other, skipped = cards
    assert first.topic == "Post-training quantization" and first.deck == "TF"
    assert first.deck_path == "TF::Post-training quantization"
    assert first.topic_slug == "post-training-quantization"
    assert first.output == "1" and first.setup == "x = 1\n" and first.tags == ("tflite", "sizes")
    assert first.line == 7 and first.code_line == 12 and first.setup_line == 5
    assert (first.type, first.code_on, first.timeout, first.tolerance) == ("basic", "front", 60.0, None)
    assert first.description == "Smaller models."
    assert cloze.type == "cloze" and cloze.back == "" and cloze.code is None
    assert other.topic == "Elsewhere" and other.raises == "ValueError" and other.code_on == "back"
    assert (other.tolerance, other.timeout) == (1e-5, 5.0)
    assert skipped.skip == "needs a GPU" and skipped.type == "reverse" and not skipped.runs


def test_directories_are_searched_recursively_in_sorted_order(write_cards):
    one = "topic: {t}\ncards:\n  - id: {i}\n    front: q\n    back: a\n"
    root = write_cards({"b.yaml": one.format(t="B", i="b"), "a/z.yml": one.format(t="Z", i="z"),
                        "a/notes.txt": "not a topic file"})
    assert [c.id for c in load_cards([root])] == ["z", "b"]


CARD = "topic: T\ncards:\n  - id: c\n    front: q\n    back: a\n"

BROKEN = {
    "yaml-syntax": ("topic: T\ncards:\n  - id: c\n    front: [unclosed\n", 5, None, "YAML syntax error"),
    "not-a-mapping": ("- just\n- a list\n", 1, None, "must be a mapping"),
    "missing-topic": ("cards:\n  - id: c\n    front: q\n    back: a\n", 1, None, "missing required key 'topic'"),
    "unknown-file-key": ("topic: T\ndek: X\ncards:\n  - id: c\n    front: q\n    back: a\n", 2, None,
                         "unknown key 'dek' (did you mean 'deck'?)"),
    "no-cards": ("topic: T\ncards: []\n", 2, None, "non-empty list"),
    "unknown-card-key": (CARD + "    code: print(1)\n    raises: ValueError\n    ouput: '1'\n", 8, "c", "unknown key 'ouput' (did you mean 'output'?)"),
    "missing-front": ("topic: T\ncards:\n  - id: c\n    back: a\n", 3, "c", "missing required key 'front'"),
    "missing-back": ("topic: T\ncards:\n  - id: c\n    front: q\n", 3, "c", "missing required key 'back'"),
    "bad-id": ("topic: T\ncards:\n  - id: Bad_Id\n    front: q\n    back: a\n", 3, "Bad_Id", "bad id 'Bad_Id'"),
    "long-id": ("topic: T\ncards:\n  - id: " + "a" * 65 + "\n    front: q\n    back: a\n", 3, "a" * 65, "at most 64"),
    "code-without-output": (CARD + "    code: print(1)\n", 6, "c", "needs 'output' or 'raises'"),
    "output-without-code": (CARD + "    output: '1'\n", 6, "c", "'output' without 'code'"),
    "invalid-python": (CARD + "    code: |\n      x = 1\n      print(x\n    output: '1'\n", 8, "c",
                       "'code' is not valid Python"),
    "invalid-setup": ("topic: T\nsetup: |\n  def f(:\ncards:\n  - id: c\n    front: q\n    back: a\n", 3, None,
                      "'setup' is not valid Python"),
    "bad-raises": (CARD + "    code: x\n    raises: not a class\n", 7, "c", "'raises' must be an exception class"),
    "bad-code-on": (CARD + "    code_on: side\n", 6, "c", "'code_on' must be 'front' or 'back'"),
    "bad-type": (CARD + "    type: flip\n", 6, "c", "'type' must be one of"),
    "cloze-without-deletion": ("topic: T\ncards:\n  - id: c\n    type: cloze\n    front: no deletion\n", 5, "c",
                               "needs at least one {{c1::...}}"),
    "bad-tolerance": (CARD + "    tolerance: -1\n", 6, "c", "'tolerance' must be a positive number"),
    "bad-timeout": (CARD + "    timeout: soon\n", 6, "c", "'timeout' must be a positive number"),
    "bad-tags": (CARD + "    tags: [Good Tag]\n", 6, "c", "bad tag 'Good Tag'"),
    "tags-not-list": (CARD + "    tags: eager\n", 6, "c", "'tags' must be a list"),
    "empty-skip": (CARD + "    skip: ' '\n", 6, "c", "'skip' needs a reason"),
    "duplicate-key": (CARD + "    front: again\n", 6, "c", "duplicate key 'front' (first at line 4)"),
    "setup-not-text": ("topic: T\nsetup: [x]\ncards:\n  - id: c\n    front: q\n    back: a\n", 2, None,
                       "'setup' must be text"),  # a list has no scalar style: this was a traceback
    "front-not-text": (CARD.replace("front: q", "front: [q]"), 4, "c", "'front' must be text"),
    "missing-image": (CARD.replace("back: a", "back: '![x](images/none.png)'"), 5, "c", "image 'images/none.png' not found"),
    "remote-image": (CARD.replace("back: a", "back: '![x](https://x.org/a.png)'"), 5, "c", "not a URL"),
    "colon-in-value": ("topic: T\ncards:\n  - id: c\n    front: q\n    back: note: this\n", 5, None,
                       "a value containing ': ' must be quoted"),
    "bad-whitespace": (CARD + "    whitespace: loose\n", 6, "c", "'whitespace' must be one of normalize, exact"),
    "bad-specifier": (CARD + "    tensorflow: '2.16+'\n", 6, "c", "'tensorflow' must be a version specifier"),
    "bad-topic-specifier": ("topic: T\ntensorflow: '=>2.16'\ncards:\n  - id: c\n    front: q\n    back: a\n",
                            2, None, "'tensorflow' must be a version specifier"),
    "allow-unknown-rule": (CARD + "    allow: {spoilers: x}\n", 6, "c", "did you mean 'spoiler'?"),
}


def test_topic_file_defaults_apply_unless_a_card_overrides(write_cards):
    root = write_cards({"t.yaml": """
        topic: T
        tolerance: 1e-3
        whitespace: exact
        tensorflow: ">=2.16"
        cards:
          - id: inherits
            front: q
            back: a
          - id: overrides
            front: q2
            back: a
            tolerance: 1e-6
            whitespace: normalize
            tensorflow: "<3"
            allow: {grounded: "rounded on purpose", atomic: "a list on purpose"}
        """})
    inherits, overrides = load_cards([root])
    assert (inherits.tolerance, inherits.whitespace, inherits.tensorflow) == (1e-3, "exact", ">=2.16")
    assert (overrides.tolerance, overrides.whitespace, overrides.tensorflow) == (1e-6, "normalize", "<3")
    assert overrides.allowed == {"grounded": "rounded on purpose", "atomic": "a list on purpose"}
    plain = write_cards({"u.yaml": CARD}, root=root.parent / "plain")
    assert load_cards([plain])[0].whitespace == "normalize"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_input_is_one_located_line(write_cards, name):
    text, line, card_id, words = BROKEN[name]
    root = write_cards({f"{name}.yaml": text})
    with pytest.raises(CardErrors) as info:
        load_cards([root])
    assert len(info.value.errors) == 1, [e.format() for e in info.value.errors]
    error = info.value.errors[0]
    assert error.path.name == f"{name}.yaml"
    assert (error.line, error.card_id) == (line, card_id)
    assert words in error.plain
    shown = error.format()
    assert f"{name}.yaml:{line}: " in shown and "\n" not in shown
    assert (f"card '{card_id}': " in shown) == (card_id is not None)


def test_duplicate_ids_across_files_name_both_places(write_cards):
    root = write_cards({"a.yaml": CARD, "b.yaml": "# comment\n" + CARD})
    with pytest.raises(CardErrors) as info:
        load_cards([root])
    [error] = info.value.errors
    assert error.path.name == "b.yaml" and error.line == 4 and error.card_id == "c"
    assert "duplicate id, first used at" in error.plain and "a.yaml:3" in error.plain


def test_a_duplicate_id_is_reported_while_the_first_card_has_another_error(write_cards):
    """All of a run's errors come together: fixing the first card must not reveal a second error."""
    root = write_cards({"a.yaml": CARD + "    ouput: x\n", "b.yaml": CARD + "    tags: eager\n"})
    with pytest.raises(CardErrors) as info:
        load_cards([root])
    shown = [e.format() for e in info.value.errors]
    assert [(e.path.name, e.line, e.card_id) for e in info.value.errors] == [
        ("a.yaml", 6, "c"), ("b.yaml", 3, "c"), ("b.yaml", 6, "c")], shown
    assert "unknown key 'ouput'" in shown[0]
    assert "duplicate id, first used at" in shown[1] and "a.yaml:3" in shown[1]
    assert "'tags' must be a list of words" in shown[2]

    from click.testing import CliRunner

    from generator.cli import main

    result = CliRunner().invoke(main, ["verify", str(root)])
    assert result.exit_code == 2 and [l for l in result.output.splitlines() if l] == [f"error: {e}" for e in shown]


def test_all_errors_of_a_run_are_reported_together(write_cards):
    root = write_cards({"a.yaml": CARD + "    ouput: x\n", "b.yaml": "topic: T\ncards:\n  - id: B\n    front: q\n"})
    with pytest.raises(CardErrors) as info:
        load_cards([root])
    assert [(e.path.name, e.line) for e in info.value.errors] == [("a.yaml", 6), ("b.yaml", 3), ("b.yaml", 3)]


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(CardError, match="no such file"):
        load_cards([tmp_path / "nope"])


def test_scalars_keep_their_source_text(write_cards):
    root = write_cards({"a.yaml": CARD + "    code: print(4)\n    output: 4.50\n"})
    assert load_cards([root])[0].output == "4.50"


@pytest.fixture
def deck(write_cards):
    text = """
    topic: {topic}
    cards:
      - id: {slug}-1
        front: q
        back: a
        tags: [x, shared]
      - id: {slug}-2
        front: q
        back: a
        tags: [y]
    """
    root = write_cards({"a.yaml": text.format(topic="Post-training quantization", slug="ptq"),
                        "b.yaml": text.format(topic="Tensors", slug="t")})
    return load_cards([root])


@pytest.mark.parametrize("topics, tags, ids", [
    (["Tensors"], [], ["t-1", "t-2"]),
    (["post-training-quantization"], [], ["ptq-1", "ptq-2"]),
    (["POST-TRAINING QUANTIZATION"], [], ["ptq-1", "ptq-2"]),
    (["tensors", "post-training-quantization"], [], ["ptq-1", "ptq-2", "t-1", "t-2"]),
    ([], ["y"], ["ptq-2", "t-2"]),
    ([], ["x", "y"], ["ptq-1", "ptq-2", "t-1", "t-2"]),
    (["tensors"], ["y"], ["t-2"]),
])
def test_filters_or_within_a_kind_and_across_kinds(deck, topics, tags, ids):
    assert [c.id for c in filter_cards(deck, topics, tags)] == ids


def test_a_topic_is_named_by_name_slug_or_file_stem(deck):
    assert [c.id for c in filter_cards(deck, ["A"], [])] == ["ptq-1", "ptq-2"]  # a.yaml
    assert [c.id for c in filter_cards(deck, ["post training quantization"], [])] == ["ptq-1", "ptq-2"]


def test_an_ambiguous_topic_word_lists_the_candidates(write_cards):
    one = "topic: {t}\ncards:\n  - id: {i}\n    front: q\n    back: a\n"
    root = write_cards({"data.yaml": one.format(t="Input pipelines", i="a"),
                        "other.yaml": one.format(t="Data", i="b")})
    with pytest.raises(CardError, match="topic 'data' is ambiguous: it names 'Data', 'Input pipelines'"):
        filter_cards(load_cards([root]), ["data"], [])


def test_a_filter_matching_nothing_lists_what_exists(deck):
    with pytest.raises(CardError, match="topics: Post-training quantization, Tensors"):
        filter_cards(deck, ["graphs"], [])
    with pytest.raises(CardError, match="tags: shared, x, y"):
        filter_cards(deck, [], ["nope"])


V3 = """
topic: Versions
keras: ">=3.0"
requires: [ai_edge_litert]
cards:
  - id: uses-defaults
    front: Q?
    back: A.
    extra: The *why*, not graded.
    figure: back
    code: print(1)
    output: "1"
  - id: overrides
    front: Q?
    back: A.
    keras: ">=3.7"
    requires: [scipy.signal, matplotlib]
"""


def test_format_v3_fields_and_topic_defaults(write_cards):
    first, second = load_cards([write_cards({"v.yaml": V3})])
    assert (first.extra, first.figure) == ("The *why*, not graded.", "back")
    assert (first.keras, first.requires) == (">=3.0", ("ai_edge_litert",))
    assert (second.extra, second.figure) == ("", None)
    assert (second.keras, second.requires) == (">=3.7", ("scipy.signal", "matplotlib"))


@pytest.mark.parametrize("field, value, message", [
    ("figure", "side", "'figure' must be one of front, back, not 'side'"),
    ("requires", "[not-a-module]", "'requires' names 'not-a-module', which is not a Python module name"),
    ("requires", "litert", "'requires' must be a list of words"),
    ("keras", "'three'", "'keras' must be a version specifier"),
], ids=["figure", "requires-name", "requires-list", "keras"])
def test_format_v3_bad_values_are_located(write_cards, field, value, message):
    root = write_cards({"v.yaml": f"""
        topic: T
        cards:
          - id: c
            front: Q
            back: A
            code: print(1)
            output: "1"
            {field}: {value}
        """})
    with pytest.raises(CardErrors) as e:
        load_cards([root])
    assert f"v.yaml:8: card 'c': {message}" in str(e.value)


def test_figure_needs_code(write_cards):
    root = write_cards({"v.yaml": "topic: T\ncards:\n  - id: c\n    front: Q\n    back: A\n    figure: front\n"})
    with pytest.raises(CardErrors, match=r"v.yaml:6: card 'c': 'figure' without 'code'"):
        load_cards([root])


TOPIC = "topic: {0}\ncards:\n  - id: {1}\n    front: Q {0}?\n    back: A\n"


def test_deck_yaml_orders_topics_and_is_not_a_topic_file(write_cards):
    root = write_cards({"a.yaml": TOPIC.format("A", "a1"), "b.yaml": TOPIC.format("B", "b1"),
                        "sub/c.yaml": TOPIC.format("C", "c1"), "deck.yaml": "topics: [sub/c, b, a]\n"})
    assert [c.id for c in load_cards([root])] == ["c1", "b1", "a1"]


@pytest.mark.parametrize("deck, message", [
    ("topics: [b, a, nosuch]\n", "deck.yaml:1: no topic file 'nosuch' (.yaml)"),
    ("topics: [a]\n", "deck.yaml:1: topic file b.yaml is not in the learning path: add 'b' to 'topics'"),
    ("topics:\n  - a\n  - b\n  - a\n", "deck.yaml:4: topic 'a' is listed twice"),
    ("order: [a, b]\n", "deck.yaml:1: unknown key 'order'"),
    ("topics: a\n", "deck.yaml:1: 'topics' must be a list of topic file stems"),
    ("[a, b]\n", "deck.yaml:1: a deck file must be a mapping"),
], ids=["unknown", "missing", "twice", "key", "not-list", "not-mapping"])
def test_deck_yaml_errors_are_located(write_cards, deck, message):
    root = write_cards({"a.yaml": TOPIC.format("A", "a1"), "b.yaml": TOPIC.format("B", "b1"), "deck.yaml": deck})
    with pytest.raises(CardErrors) as e:
        load_cards([root])
    assert message in str(e.value)
