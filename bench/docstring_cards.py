"""TensorFlow's own docstring examples as a tfcards topic file, each card tagged with TensorFlow's verdict.

    .venv/bin/python bench/docstring_cards.py            # regenerate tests/data/docstrings.yaml
    .venv/bin/python bench/docstring_cards.py --measure  # ... then verify it with tfcards and compare

One card per docstring (deduplicated by text) of the functions in `tf.math`, `tf.strings`, `tf.nn`,
`tf.linalg`, `tf.random`, `tf.sparse`, `tf.ragged` and `tf.*`, and of the class and its public
methods and properties for `tf.data.Dataset`, `tf.Variable` and `tf.TensorShape`. Examples are
parsed with `doctest.DocTestParser`; a card's code is the examples' source with every expression
statement `>>> x` turned into `display(x)` (`sys.displayhook`: the repr, nothing for None), which
is what the interactive prompt does; its output is the examples' expected outputs, and an
exception expected by the last example becomes `raises`.

Each docstring is also run the way TensorFlow's doctest harness runs it (`doctest.DocTestRunner`
with `TfDoctestOutputChecker` and TensorFlow's option flags, `tf` and `np` in fresh globals), in a
child forked per docstring with the environment of a card (one op thread, seeds 0, an empty
working directory), and the card is tagged `tf-pass` or `tf-fail`.

`--measure` then verifies the file and tests/data/loose.yaml with tfcards (`generator.verify.verify`,
jobs=2, no cache), judges the docstring cards under each whitespace rule with no tolerance, the
file's and 1e-3, and lists every card on which the two checkers differ with the class of the
difference, found example by example.
"""
from __future__ import annotations

import argparse
import ast
import collections
import dataclasses
import doctest
import importlib.util
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "docstrings.yaml"
TOLERANCE = "1e-6"  # the topic file's default (see --measure for what it changes)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL | doctest.DONT_ACCEPT_BLANKLINE
SETUP = "from sys import displayhook as display  # what `>>> x` shows: repr(x), nothing for None\n"
TIMEOUT = 60.0

# Examples that cannot run in a card, by what their code mentions (first match names the reason).
UNRUNNABLE = [
    ("need files", re.compile(r"\bopen\(|gfile|TFRecord|tempfile|/tmp\b|\bos\.|glob\(|\.save\(|save_model|"
                               r"[Cc]heckpoint|\.(?:txt|csv|png|jpe?g|tfrecord)\b|_dir\b|filename")),
    ("need a GPU or TPU", re.compile(r"GPU|TPU|/device:|tf\.distribute|Strategy")),
    ("need the network", re.compile(r"https?://|get_file|\btfds\b|urllib|socket")),
]


@dataclasses.dataclass
class Doc:
    name: str  # the first public name it was found under, e.g. tf.math.reduce_sum
    space: str  # where: math, strings, nn, linalg, random, sparse, ragged, dataset, variable, tensorshape, tf
    text: str
    examples: list = dataclasses.field(default_factory=list)
    skip: str | None = None


def sources(tf) -> list[tuple[str, object, bool]]:
    """(public prefix, namespace, is_class) in the order names are claimed."""
    return [("tf.math", tf.math, False), ("tf.strings", tf.strings, False), ("tf.nn", tf.nn, False),
            ("tf.linalg", tf.linalg, False), ("tf.random", tf.random, False), ("tf.sparse", tf.sparse, False),
            ("tf.ragged", tf.ragged, False), ("tf.data.Dataset", tf.data.Dataset, True),
            ("tf.Variable", tf.Variable, True), ("tf.TensorShape", tf.TensorShape, True), ("tf", tf, False)]


def members(space, is_class: bool):
    """(name, object) of a module's public functions, or of a class itself and its public methods
    and properties (dunder methods count when they document examples, e.g. TensorShape.__eq__)."""
    if is_class:
        yield "", space
    for name in sorted(dir(space)):
        if name.startswith("_") and not (is_class and name.startswith("__") and name.endswith("__")):
            continue
        try:
            obj = inspect.getattr_static(space, name) if is_class else getattr(space, name)
        except AttributeError:
            continue
        if is_class:
            if isinstance(obj, (staticmethod, classmethod)):
                obj = obj.__func__
            if not (inspect.isfunction(obj) or isinstance(obj, property)):
                continue  # builtin slots (`__init_subclass__`...) document Python, not TensorFlow
        elif inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj):
            continue
        yield name, obj


def collect(tf) -> list[Doc]:
    parser = doctest.DocTestParser()
    docs: dict[str, Doc] = {}
    for prefix, space, is_class in sources(tf):
        for name, obj in members(space, is_class):
            text = inspect.getdoc(obj)
            if not text or text in docs:
                continue
            examples = parser.get_examples(text)
            if examples:
                space_tag = prefix.rsplit(".", 1)[-1].lower()
                docs[text] = Doc(f"{prefix}.{name}" if name else prefix, space_tag, text, examples)
    for doc in docs.values():
        doc.skip = skip_reason(doc.examples)
    return list(docs.values())


def skip_reason(examples: list[doctest.Example]) -> str | None:
    """Why these examples cannot be one card, or None."""
    if any(e.options.get(doctest.SKIP) for e in examples):
        return "carry a `doctest: +SKIP` directive"
    code = "".join(e.source for e in examples)
    for e in examples:
        try:
            tree = ast.parse(e.source)
        except SyntaxError:
            return "hold code that is not Python"
        if _placeholder(tree):
            return "use `...` for code left out"
    for reason, pattern in UNRUNNABLE:
        if pattern.search(code):
            return reason
    for e in examples:
        for node in ast.walk(ast.parse(e.source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(importlib.util.find_spec(n.split(".")[0]) is None for n in names):
                return "import a module that is not installed"
    if any(e.exc_msg is not None for e in examples[:-1]):
        return "raise before their last example (a card raises only at its end)"
    return None


def _placeholder(tree: ast.AST) -> bool:
    """An Ellipsis literal outside a subscript (`x[..., 0]` is real code, `f(...)` is not)."""
    inside = {id(n) for s in ast.walk(tree) if isinstance(s, ast.Subscript) for n in ast.walk(s.slice)}
    return any(isinstance(n, ast.Constant) and n.value is Ellipsis and id(n) not in inside
               for n in ast.walk(tree))


def displayed(source: str) -> str:
    """SOURCE with each expression statement the prompt would echo wrapped in `display(...)`.

    `>>>` compiles in "single" mode, where an expression statement at module level shows its
    value, also inside `for`/`if`/`with`/`try` bodies but not inside a `def` or `class`. Calls
    to `print` return None, so they are left as they are. The edit is textual, so comments and
    line breaks survive."""
    tree = ast.parse(source)
    spots: list[tuple[int, int, int, int]] = []

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Expr):
                call = stmt.value
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"):
                    bare_tuple = isinstance(call, ast.Tuple) and not _parenthesized(source, stmt)
                    spots.append((stmt.lineno, stmt.col_offset, stmt.end_lineno, stmt.end_col_offset, bare_tuple))
            elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(stmt, field, []))
                for handler in getattr(stmt, "handlers", []):
                    visit(handler.body)
                for case in getattr(stmt, "cases", []):
                    visit(case.body)

    visit(tree.body)
    lines = [line.encode() for line in source.splitlines(keepends=True)]  # ast offsets are UTF-8 bytes
    for line, col, end_line, end_col, bare_tuple in reversed(spots):  # `>>> a, b` shows the tuple
        lines[end_line - 1] = lines[end_line - 1][:end_col] + b"))"[:1 + bare_tuple] + lines[end_line - 1][end_col:]
        lines[line - 1] = lines[line - 1][:col] + b"display((("[:8 + bare_tuple] + lines[line - 1][col:]
    return b"".join(lines).decode()


def _parenthesized(source: str, stmt: ast.Expr) -> bool:
    """Whether `f(<the tuple's text>)` passes one argument (`(a, b)`), not two (`a, b`, `(a), b`)."""
    call = ast.parse(f"f({ast.get_source_segment(source, stmt)}\n)").body[0].value
    return len(call.args) == 1


def card_id(name: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name.removeprefix("tf.") if name != "tf" else name)
    cid = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    return ("tf-" + cid if name.count(".") == 1 and name.startswith("tf.") and not name.startswith(
        ("tf.Variable", "tf.TensorShape")) else cid)[:64]


def to_card(doc: Doc, tf_passed: bool) -> dict:
    last = doc.examples[-1]
    shown = doc.examples[:-1] if last.exc_msg is not None else doc.examples
    output = "".join("\n".join(line.rstrip() for line in e.want.splitlines()) + "\n" if e.want else ""
                     for e in shown)
    summary = doc.text.strip().splitlines()[0].strip()
    card = {"id": card_id(doc.name),
            "front": f"What do the examples in the docstring of `{doc.name}` print?",
            "back": summary or doc.name,
            "tags": ["tf-pass" if tf_passed else "tf-fail", doc.space],
            "code": "".join(displayed(e.source) for e in doc.examples)}
    if output or last.exc_msg is None:
        card["output"] = output
    if last.exc_msg is not None:
        card["raises"] = re.sub(r"\s+", " ", last.exc_msg.strip())
    return card


# --- TensorFlow's checker, run the way its doctest harness runs a docstring ----------------------

def _tf_checker():
    """TfDoctestOutputChecker from the installed wheel, loaded by path so that importing it does not
    need `tensorflow.tools.docs` (whose package import pulls in all of TensorFlow)."""
    import tensorflow
    path = Path(tensorflow.__file__).parent / "tools" / "docs" / "tf_doctest_lib.py"
    spec = importlib.util.spec_from_file_location("tf_doctest_lib", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TfDoctestOutputChecker


class _Recorder(doctest.DocTestRunner):
    """Keeps what each example printed and whether the checker accepted it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[dict] = []

    def report_success(self, out, test, example, got):
        self.seen.append({"want": example.want, "got": got, "ok": True})

    def report_failure(self, out, test, example, got):
        self.seen.append({"want": example.want, "got": got, "ok": False})

    def report_unexpected_exception(self, out, test, example, exc_info):
        self.seen.append({"want": example.want, "got": "", "ok": False,
                          "exception": f"{exc_info[0].__name__}: {exc_info[1]}"})


def tf_verdicts(docs: list[Doc], jobs: int = 2) -> dict[str, dict]:
    """{doc name: {"passed": bool, "examples": [...]}} from TensorFlow's checker, one fork per docstring."""
    import random

    import numpy as np
    import tensorflow as tf
    checker = _tf_checker()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(0)  # no op runs here, so each child starts from seed 0 too
    work = Path(tempfile.mkdtemp(prefix="tf-doctest-"))
    results: dict[str, dict] = {}
    pending = list(docs)
    running: dict[int, tuple[Doc, Path, float]] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                doc = pending.pop(0)
                cwd = work / str(len(docs) - len(pending))
                cwd.mkdir()
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:  # the child: never returns
                    try:
                        null = os.open(os.devnull, os.O_RDWR)
                        for fd in (0, 1, 2):
                            os.dup2(null, fd)
                        os.chdir(cwd)
                        random.seed(0)
                        np.random.seed(0)
                        test = doctest.DocTestParser().get_doctest(
                            doc.text, {"__name__": "__main__", "tf": tf, "np": np}, doc.name, None, 0)
                        runner = _Recorder(checker=checker(), optionflags=FLAGS)
                        result = runner.run(test, out=lambda s: None, clear_globs=False)
                        (cwd / "result.json").write_text(json.dumps(
                            {"passed": result.failed == 0, "examples": runner.seen}))
                    finally:
                        os._exit(0)
                running[pid] = (doc, cwd, time.monotonic() + TIMEOUT)
            time.sleep(0.01)
            for pid, (doc, cwd, deadline) in list(running.items()):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done and time.monotonic() < deadline:
                    continue
                if not done:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                result = cwd / "result.json"
                results[doc.name] = (json.loads(result.read_text()) if result.exists()
                                     else {"passed": False, "examples": [], "crashed": True})
                results[doc.name]["seconds"] = time.monotonic() - deadline + TIMEOUT
                del running[pid]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


# --- the topic file --------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def _words(dumper: yaml.SafeDumper, value: list) -> yaml.SequenceNode:
    """Tags on one line (`tags: [tf-pass, math]`); the cards themselves stay in block style."""
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value,
                                     flow_style=all(isinstance(v, str) for v in value))


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _words)


def write_topic(cards: list[dict], skipped: collections.Counter, path: Path) -> None:
    head = ("# Generated by bench/docstring_cards.py from TensorFlow 2.21's docstrings: do not edit, rerun it.\n"
            "# Tags: tf-pass / tf-fail is TensorFlow's own doctest checker on the docstring; the second\n"
            "# names where it was found (math, ..., dataset, variable, tensorshape, tf).\n"
            "# Docstrings left out: " + "; ".join(f"{n} {why}" for why, n in skipped.most_common()) + ".\n")
    topic = {"topic": "TensorFlow docstrings",
             "description": "TensorFlow's own docstring examples: a corpus of real, hand-written output.",
             "tolerance": TOLERANCE,
             "setup": SETUP,
             "cards": cards}
    text = yaml.dump(topic, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)
    path.write_text(head + text, encoding="utf-8")


def generate(path: Path = OUT) -> tuple[list[Doc], dict[str, dict], list[dict]]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    docs = collect(tf)
    kept = [d for d in docs if d.skip is None]
    skipped = collections.Counter(d.skip for d in docs if d.skip is not None)
    start = time.monotonic()
    verdicts = tf_verdicts(kept)
    slow = sorted(((v["seconds"], n) for n, v in verdicts.items()), reverse=True)[:3]
    cards = [to_card(d, verdicts[d.name]["passed"]) for d in kept]
    ids = collections.Counter(c["id"] for c in cards)
    assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
    write_topic(cards, skipped, path)
    print(f"{len(docs)} docstrings with examples; {len(kept)} cards written to {os.path.relpath(path)}; "
          f"{len(docs) - len(kept)} left out:")
    for why, n in skipped.most_common():
        print(f"  {n:3}  {why}: " + ", ".join(d.name for d in docs if d.skip == why))
    passed = sum(v["passed"] for v in verdicts.values())
    print(f"TensorFlow's checker passes {passed} of {len(cards)} ({time.monotonic() - start:.0f} s; slowest: "
          + ", ".join(f"{n} {s:.1f} s" for s, n in slow) + ")")
    return kept, verdicts, cards


# --- the measurement --------------------------------------------------------------------------

def measure(path: Path, docs: list[Doc], tf_results: dict[str, dict]) -> None:
    """Verify PATH with tfcards and print the figures, and the class of every difference."""
    sys.path.insert(0, str(ROOT))
    from generator import compare
    from generator.load import load_cards
    from generator.verify import judge, verify

    loose = ROOT / "tests" / "data" / "loose.yaml"
    every = load_cards([path, loose])
    cards = [c for c in every if c.file == path]
    by_id = {card_id(d.name): d for d in docs}
    report = verify(every, jobs=2)
    tf_pass = {c.id for c in cards if "tf-pass" in c.tags}
    print(f"tfcards verified {len(every)} cards ({len(cards)} docstrings, {len(every) - len(cards)} loose) "
          f"in {report.seconds:.1f} s (jobs=2, no cache)")
    for whitespace, tolerance in (("exact", None), ("exact", float(TOLERANCE)), ("normalize", None),
                                  ("normalize", float(TOLERANCE)), ("normalize", 1e-3)):
        label = f"whitespace {whitespace}, " + (f"tolerance {tolerance:g}" if tolerance else "no tolerance")
        ours = {c.id for c in cards if judge(dataclasses.replace(c, tolerance=tolerance, whitespace=whitespace),
                                             report.outcomes[c.id]).status == "passed"}
        print(f"{label}: TensorFlow's checker passes {len(tf_pass)}/{len(cards)}, tfcards {len(ours)}/{len(cards)}; "
              f"among tf-pass {len(ours & tf_pass)}/{len(tf_pass)} ({len(ours & tf_pass) / len(tf_pass):.1%}); "
              f"tfcards passes {len(ours - tf_pass)} tf-fail")
    checker = _tf_checker()()
    wrong = [c for c in every if c.file == loose]
    tf_accepts = [c.id for c in wrong if checker.check_output(c.output, report.outcomes[c.id]["stdout"], FLAGS)]
    ours = [c.id for c in wrong if judge(c, report.outcomes[c.id]).status == "passed"]
    print(f"loose.yaml: TensorFlow's checker accepts {len(tf_accepts)}/{len(wrong)} wrong outputs, tfcards {len(ours)}/{len(wrong)}")
    classes: collections.Counter = collections.Counter()
    for card in cards:
        ours = judge(card, report.outcomes[card.id]).status == "passed"
        if ours == (card.id in tf_pass):
            continue
        why = classify(card, report.outcomes[card.id], tf_results[by_id[card.id].name], checker, compare)
        classes[why.split("\n")[0]] += 1
        print(f"\n{card.id}: TensorFlow {'passes' if card.id in tf_pass else 'fails'}, "
              f"tfcards {'passes' if ours else 'fails'}: {why}")
    print("\nclasses of difference:")
    for why, n in classes.most_common():
        print(f"  {n:3}  {why}")


def classify(card, outcome: dict, tf_result: dict, checker, compare) -> str:
    """The first example on which the two checkers disagree, and why (per example, as doctest sees it)."""
    tol = card.tolerance
    if tf_result.get("crashed"):
        return "the doctest run crashed or timed out"
    got_all = "".join(e["got"] for e in tf_result["examples"])
    if outcome.get("exception") and not card.raises:
        return f"the card raised {outcome['exception']['type']} where the doctest run did not"
    if card.raises and outcome.get("exception") and not compare.matches(card.raises.partition(":")[2].strip(),
                                                                         outcome["exception"]["message"], tol):
        return "exception message (TensorFlow's checker ignores it: IGNORE_EXCEPTION_DETAIL)"
    examples = [e for e in tf_result["examples"] if not e["want"].startswith("Traceback")]
    for e in examples:
        if e["got"].strip() and not e["want"].strip():
            return "output the docstring does not show (TensorFlow's checker accepts anything for an empty want)"
    for e in examples:
        want, got = e["want"], e["got"]
        if compare.matches(want, got, tol):
            continue
        if not e["ok"]:
            return "TensorFlow's checker fails this example too: " + _short(want, got)
        if compare.matches(want, got, 1e-3):
            return f"rounded floats: beyond the relative tolerance {tol:g}, within 1e-3"
        if re.search(r"np\.(?:float|int|complex)\d+\(", got) and not re.search(r"np\.\w+\(", want):
            return "text next to a number: NumPy 2 shows `np.float32(2.0)` where the docstring has `2.0`"
        header = checker._NUMPY_OUTPUT_RE
        if compare.matches(header.sub(r"\1", want), header.sub(r"\1", got), 1e-3):
            return "tensor-repr header differs (TensorFlow's checker drops it)"
        return "other: " + _short(want, got)
    if "".join(e["want"] for e in examples).strip() and got_all != outcome.get("stdout", ""):
        return "the card printed other text than the doctest run: " + _short(got_all, outcome.get("stdout", ""))
    return "every example matches alone, but not the whole output: " + _short(card.output or "", outcome.get("stdout", ""))


def _short(want: str, got: str) -> str:
    return f"\n    want: {want.strip()[:400]!r}\n    got:  {got.strip()[:400]!r}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", action="store_true", help="also verify the cards with tfcards and compare")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    kept, verdicts, _ = generate(args.out)
    if args.measure:
        measure(args.out, kept, verdicts)


if __name__ == "__main__":
    main()
