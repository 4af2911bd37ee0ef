"""Prove cards true: run each card's code (or reuse its cached outcome) and judge it."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from . import checks, compare
from .cache import Cache, api_key, card_key
from .cards import Card, Verdict
from .errors import display_path
from .interpreter import Interpreter, probe
from .runner import DEFAULT_MEMORY, Runner

API_JOB = "tfcards:api"  # the fork-server job that looks the cards' TensorFlow names up


@dataclass(frozen=True)
class Report:
    """The verdicts of one verification run, in card order."""

    verdicts: tuple[Verdict, ...]
    tensorflow: str
    seconds: float
    outcomes: Mapping[str, dict] = field(default_factory=dict, repr=False, compare=False)
    api: Mapping[str, str | None] = field(default_factory=dict, repr=False, compare=False)  # name lookups
    sandboxed: bool = False  # the cards that ran were confined (sandbox.py)
    keras: str = ""  # the interpreter's Keras ("not-installed" if none)
    interpreter: Interpreter | None = field(default=None, repr=False, compare=False)  # what ran them

    def count(self, status: str) -> int:
        return sum(v.status == status for v in self.verdicts)

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "failed"]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def verify(cards: Sequence[Card], *, jobs: int | None = None, cache: Cache | None = None,
           rerun: bool = False, memory: int = DEFAULT_MEMORY, strict: bool = False,
           python: str | None = None, sandbox: bool = False,
           progress: Callable[[Card, Verdict], None] | None = None,
           on_start: Callable[[Card], None] | None = None) -> Report:
    """Verdicts for CARDS, each with its strict-check findings (with STRICT, a finding fails the
    card). Cached outcomes are used, except with RERUN one that fails the card's claims (a fresh
    run before `--update` rewrites the card); TensorFlow is only imported (in a separate
    fork server) when some card or name lookup has to run. PROGRESS hears of every card that
    `runs`, ON_START of each card as its run begins. PYTHON names another interpreter (with
    TensorFlow) to run the cards in; the default is this one. With SANDBOX the cards run
    confined by bubblewrap (sandbox.py)."""
    start = time.monotonic()
    interpreter = probe(python, [m for c in cards for m in c.requires])
    tf = interpreter.tensorflow
    by_id = {c.id: c for c in cards}
    verdicts: dict[str, Verdict] = {}
    outcomes: dict[str, dict] = {}
    keys: dict[str, str] = {}
    to_run: list[Card] = []

    def done(card: Card, verdict: Verdict) -> None:
        verdicts[card.id] = verdict
        if progress is not None and card.runs:
            progress(card, verdict)

    for card in cards:
        unrun = not_run(card, interpreter)
        if unrun is not None:
            done(card, unrun)
        else:
            keys[card.id] = card_key(card, memory, interpreter)
            outcome = None if cache is None else cache.get(keys[card.id])
            verdict = None if outcome is None else judge(card, outcome, cached=True)
            if verdict is None or (rerun and verdict.status == "failed"):
                to_run.append(card)
            else:
                outcomes[card.id] = outcome
                done(card, verdict)

    api, unknown = _cached_names(cards, interpreter, cache)

    if to_run or unknown:
        job_list = [{"key": c.id, "setup": c.setup, "code": c.code, "timeout": c.timeout,
                     "memory": memory} for c in to_run]
        if unknown:
            job_list.append({"key": API_JOB, "resolve": unknown, "timeout": 300, "memory": memory})
        with Runner(jobs or default_jobs(), interpreter.python, sandbox) as runner:
            def received(outcome: dict) -> None:
                # The runner checked OUTCOME: its key is one of ours, answered once.
                if outcome["key"] == API_JOB:
                    found = outcome.get("value") or {}
                    for name in unknown:
                        if name in found and cache is not None:
                            cache.put_value(api_key(name, interpreter), {"why": found[name]})
                        api[name] = found.get(name, f"`{name}` could not be looked up (the lookup "
                                                      f"{outcome.get('status', 'failed')})")
                    return
                card = by_id[outcome["key"]]
                outcomes[card.id] = outcome
                if cache is not None:
                    cache.put(keys[card.id], outcome)
                done(card, judge(card, outcome))

            started = None if on_start is None else (lambda key: key in by_id and on_start(by_id[key]))
            runner.run(job_list, received, started)
            tf = runner.tf_version or tf

    final = _with_findings(cards, verdicts, outcomes, api, interpreter, strict)
    return Report(final, tf, time.monotonic() - start, outcomes, api, sandbox, interpreter.keras, interpreter)


def not_run(card: Card, interpreter: Interpreter) -> Verdict | None:
    """The verdict of a card whose code does not run on INTERPRETER (probed for the card's
    `requires`), or None if it runs."""
    outside = card.out_of_range(interpreter)
    if outside is not None:  # a concept card too: its claim is about other versions
        return Verdict(card.id, "skipped", outside)
    if card.code is None:
        return Verdict(card.id, "no-code", "a concept card: nothing to run")
    if card.skip is not None:
        return Verdict(card.id, "skipped", card.skip)
    return None


def rejudge(cards: Sequence[Card], report: Report, strict: bool = False) -> Report:
    """REPORT's runs judged again against CARDS (the same ids, their claims maybe rewritten by
    `--update`): nothing runs, so the verdicts after an update are as a fresh `verify` gives."""
    before = {v.card_id: v for v in report.verdicts}
    verdicts = {}
    for card in cards:
        outcome = report.outcomes.get(card.id)
        verdict = not_run(card, report.interpreter)
        if verdict is None and outcome is not None:
            verdict = judge(card, outcome, cached=before[card.id].cached)
        verdicts[card.id] = verdict or replace(before[card.id], findings=())
    final = _with_findings(cards, verdicts, report.outcomes, report.api, report.interpreter, strict)
    return replace(report, verdicts=final)


def _cached_names(cards: Sequence[Card], interpreter, cache: Cache | None) -> tuple[dict, list[str]]:
    """The `api` answers already cached for this TensorFlow, and the names still to look up:
    those of the cards that claim to hold for it."""
    api: dict[str, str | None] = {}
    unknown = []
    for name in sorted(checks.mentioned_names(c for c in cards if c.out_of_range(interpreter) is None)):
        entry = cache.get_value(api_key(name, interpreter)) if cache is not None else None
        if entry is None:
            unknown.append(name)
        else:
            api[name] = entry["why"]
    return api, unknown


def _with_findings(cards: Sequence[Card], verdicts: dict[str, Verdict], outcomes: dict[str, dict],
                   api: dict, interpreter, strict: bool) -> tuple[Verdict, ...]:
    """Each verdict with its strict-check findings; with STRICT, a finding fails the card."""
    repeats = checks.first_asked(cards)
    final = []
    for card in cards:
        verdict = verdicts[card.id]
        applies = card.out_of_range(interpreter) is None
        seen = checks.Seen(outcomes.get(card.id), api if applies else {}, repeats.get(card.id))
        final.append(with_findings(verdict, checks.check(card, seen), strict))
    return tuple(final)


def with_findings(verdict: Verdict, findings: tuple, strict: bool) -> Verdict:
    """VERDICT carrying FINDINGS; with STRICT, a finding fails a card that had not failed."""
    if strict and findings and verdict.status != "failed":
        verdict = replace(verdict, status="failed", reason=str(findings[0]),
                          detail="\n".join(map(str, findings)) if len(findings) > 1 else "")
    return replace(verdict, findings=findings)


def judge(card: Card, outcome: dict, cached: bool = False) -> Verdict:
    """Compare one run's outcome with the card's claims."""
    stdout, stderr = outcome.get("stdout", ""), outcome.get("stderr", "")
    seconds = float(outcome.get("seconds", 0.0))

    def verdict(status: str, reason: str = "", detail: str = "") -> Verdict:
        return Verdict(card.id, status, reason, detail, stdout, stderr, seconds, cached)

    status = outcome.get("status")
    if status == "timeout":
        printed = _tail(stdout)
        return verdict("failed", f"timed out after {card.timeout:g} s (give the card a larger `timeout:`)",
                       f"printed before the timeout:\n{printed}" if printed.strip() else "")
    if status == "flood":
        return verdict("failed", "printed too much output (more than 1 MiB): killed")
    if status == "malformed":
        return verdict("failed", "its process sent a malformed result", f"({outcome.get('reason', '')})")
    if status == "crashed":
        if "signal" in outcome:
            why = f"the card's process was killed by {outcome['signal']}"
        else:
            why = f"the card's process exited with status {outcome.get('exit_code')} (os._exit?)"
        return verdict("failed", why + " before finishing", _tail(stderr))
    try:
        return _judge_claims(card, outcome, verdict)
    except compare.Unmatchable as e:
        return verdict("failed", f"cannot be checked: {e}")


def _judge_claims(card: Card, outcome: dict, verdict: Callable[..., Verdict]) -> Verdict:
    """The verdict on a run that completed: what it raised and printed against the card's claims."""
    stdout = outcome.get("stdout", "")
    exc = outcome.get("exception")
    if card.raises is not None:
        want_type, _, want_message = card.raises.partition(":")
        want_type = want_type.strip().rsplit(".", 1)[-1]
        if exc is None:
            return verdict("failed", f"expected {want_type} to be raised, but nothing was raised",
                           compare.diff(card.output or "", stdout) if card.output is not None else "")
        if want_type not in exc["mro"]:
            return verdict("failed", f"expected {want_type}, got {exc['type']}: {_first_line(exc['message'])}",
                           format_traceback(card, exc))
        if want_message.strip() and not compare.matches(want_message.strip(), exc["message"], card.tolerance, card.whitespace):
            return verdict("failed", f"{exc['type']} was raised with another message",
                           compare.diff(want_message.strip(), exc["message"]))
    elif exc is not None:
        return verdict("failed", f"raised {exc['type']}: {_first_line(exc['message'])}",
                       format_traceback(card, exc))
    if card.output is not None and not compare.matches(card.output, stdout, card.tolerance, card.whitespace):
        return verdict("failed", "output differs from 'output'", compare.diff(card.output, stdout))
    if card.figure is not None and not outcome.get("figures"):
        return verdict("failed", f"'figure: {card.figure}' but the code left no matplotlib figure open "
                                 "(draw with matplotlib.pyplot; do not close or show the figure)")
    return verdict("passed")


def format_traceback(card: Card, exc: dict) -> str:
    """The card's own frames, pointing at real lines of the topic file."""
    lines = ["Traceback (most recent call last):"]
    frames = exc.get("frames", [])
    for i, frame in enumerate(frames):
        if i == len(frames) // 2 and exc.get("frames_dropped"):
            lines.append(f"  [... {exc['frames_dropped']} more frames dropped]")
        source, first = (card.setup, card.setup_line) if frame["file"] == "setup" else (card.code, card.code_line)
        where = first + frame["line"] - 1 if first else frame["line"]
        lines.append(f'  File "{display_path(card.file)}", line {where}, in {frame["name"]}')
        text = (source or "").splitlines()
        if 0 < frame["line"] <= len(text):
            lines.append("    " + text[frame["line"] - 1].strip())
    lines.append(f"{exc['type']}: {exc['message']}" if exc["message"] else exc["type"])
    return "\n".join(lines)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 160 else line[:157] + "..."


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
