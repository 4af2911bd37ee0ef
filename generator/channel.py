"""The verdict channel: what a card's process may send back, and how much of it.

Why: a card's process is the deck's code, so its result is untrusted data. The child cuts what
it reports to the sizes below before sending (`cut`, `cut_warnings`), the fork server accepts
one message per child that passes `check_result` (anything else fails that card: "its process
sent a malformed result"), and tfcards checks each line the server sends with
`check_outcome`. Which job a message answers is never the message's to say: the server takes
it from its own table of children. Standard library only: the fork server imports this too.
See docs/security.md, section 2.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# Caps applied in the card's process, before anything leaves it (characters unless said).
MESSAGE_CAP = 16 << 10        # an exception message
WARNING_CAP = 2 << 10         # one warning
WARNINGS_MAX = 100            # distinct warnings kept
FRAMES_MAX = 100              # traceback frames kept (the first and last halves)
NAME_CAP = 256                # an exception's class name, each name of its MRO, a frame's function
MRO_MAX = 64
FIGURES_MAX = 8               # figures (base64 PNG) a card may return
FIGURE_CAP = 2 << 20          # bytes of one figure, decoded
# Caps applied by the fork server, which reads the card's pipes (bytes).
STDOUT_CAP = 1 << 20          # more is a flood: the card is killed and fails
STDERR_KEEP = 64 << 10        # stderr is only shown to humans: its head is kept
STDERR_CAP = 16 << 20         # more is a flood
RESULT_CAP = FIGURES_MAX * (FIGURE_CAP * 4 // 3 + 4) + (4 << 20)  # one result message, bytes
LINE_CAP = RESULT_CAP + (32 << 20)  # one line from the server to tfcards, bytes
NOTE_ROOM = 128               # the "[... N dropped]" note a cut adds

RESULT_FIELDS = ("exception", "warnings", "value", "figures")  # all the child may set
STATUSES = ("completed", "timeout", "flood", "crashed", "malformed", "cancelled")
PNG = b"\x89PNG\r\n\x1a\n"


class Malformed(ValueError):
    """A message that breaks the channel's schema; its text says how, in a few words."""


def cut(text: str, cap: int, what: str) -> str:
    """TEXT, or its first CAP characters and a note of how much was dropped."""
    if len(text) <= cap:
        return text
    return text[:cap] + f"\n[... {len(text) - cap} more characters of this {what} dropped]"


def cut_warnings(seen: list[str]) -> list[str]:
    """The distinct warnings of SEEN, each cut, at most WARNINGS_MAX and a note of the rest."""
    distinct = list(dict.fromkeys(cut(w, WARNING_CAP, "warning") for w in seen))
    if len(distinct) <= WARNINGS_MAX:
        return distinct
    return distinct[:WARNINGS_MAX] + [f"[... {len(distinct) - WARNINGS_MAX} more warnings dropped]"]


def cut_frames(frames: list[dict]) -> tuple[list[dict], int]:
    """At most FRAMES_MAX frames (the outermost and innermost halves), and how many were dropped."""
    if len(frames) <= FRAMES_MAX:
        return frames, 0
    half = FRAMES_MAX // 2
    return frames[:half] + frames[-half:], len(frames) - 2 * half


def check_result(data: bytes, job: dict) -> dict[str, Any]:
    """The fields of a child's result DATA (one JSON object) for JOB, checked; else Malformed."""
    if len(data) > RESULT_CAP:
        raise Malformed(f"more than {RESULT_CAP} bytes")
    try:
        result = json.loads(data)
    except (ValueError, RecursionError):
        raise Malformed("not one JSON object") from None
    if not isinstance(result, dict):
        raise Malformed("not one JSON object")
    unknown = sorted(set(result) - set(RESULT_FIELDS))
    if unknown:
        raise Malformed(f"unknown field {_show(unknown[0])}")
    for name in ("exception", "warnings"):
        if name not in result:
            raise Malformed(f"no {name!r} field")
    _check_fields(result, job)
    return result


def check_outcome(message: Any, job: dict) -> dict[str, Any]:
    """A whole outcome line from the fork server (its fields and the child's), checked."""
    if not isinstance(message, dict):
        raise Malformed("not a JSON object")
    status = message.get("status")
    if status not in STATUSES:
        raise Malformed(f"unknown status {_show(status)}")
    _expect(message, "seconds", (int, float))
    if not 0 <= message["seconds"] < float("inf"):
        raise Malformed("seconds is not a duration")
    for name, cap in (("stdout", STDOUT_CAP), ("stderr", STDERR_KEEP + NOTE_ROOM)):
        _text(message.get(name), cap * 4, name)  # a byte may show as a 4-character escape
    for name in ("signal", "reason"):
        if name in message:
            _text(message[name], NAME_CAP + NOTE_ROOM, name)
    if message.get("exit_code") is not None:
        _expect(message, "exit_code", int)
    known = {"key", "status", "seconds", "stdout", "stderr", "signal", "reason", "exit_code", *RESULT_FIELDS}
    unknown = sorted(set(message) - known)
    if unknown:
        raise Malformed(f"unknown field {_show(unknown[0])}")
    _check_fields(message, job)
    return message


def _check_fields(result: dict, job: dict) -> None:
    exc = result.get("exception")
    if exc is not None:
        if not isinstance(exc, dict) or set(exc) - {"type", "mro", "message", "frames", "frames_dropped"}:
            raise Malformed("exception is not {type, mro, message, frames}")
        _text(exc.get("type"), NAME_CAP, "exception type")
        _text(exc.get("message"), MESSAGE_CAP + NOTE_ROOM, "exception message")
        _list(exc.get("mro"), MRO_MAX, "exception mro")
        for name in exc["mro"]:
            _text(name, NAME_CAP, "exception mro")
        _list(exc.get("frames"), FRAMES_MAX, "exception frames")
        for frame in exc["frames"]:
            if (not isinstance(frame, dict) or set(frame) != {"file", "line", "name"}
                    or frame["file"] not in ("setup", "code") or type(frame["line"]) is not int):
                raise Malformed("a traceback frame is not {file, line, name}")
            _text(frame["name"], NAME_CAP, "frame name")
        if type(exc.get("frames_dropped", 0)) is not int:
            raise Malformed("exception frames_dropped is not a number")
    _list(result.get("warnings", []), WARNINGS_MAX + 1, "warnings")
    for warning in result.get("warnings", []):
        _text(warning, WARNING_CAP + NOTE_ROOM, "warning")
    if "value" in result:
        value = result["value"]
        asked = set(job.get("resolve") or ())
        if not asked or not isinstance(value, dict) or set(value) - asked:
            raise Malformed("a value this job did not ask for")
        for why in value.values():
            if why is not None:
                _text(why, WARNING_CAP + NOTE_ROOM, "lookup answer")
    if "figures" in result:
        _list(result["figures"], FIGURES_MAX, "figures")
        for figure in result["figures"]:
            _text(figure, FIGURE_CAP * 4 // 3 + 4, "figure")
            try:
                png = base64.b64decode(figure, validate=True)
            except (binascii.Error, ValueError):
                raise Malformed("a figure is not base64") from None
            if len(png) > FIGURE_CAP or not png.startswith(PNG):
                raise Malformed(f"a figure is not a PNG of at most {FIGURE_CAP} bytes")


def _text(value: Any, cap: int, what: str) -> None:
    if not isinstance(value, str):
        raise Malformed(f"{what} is not text")
    if len(value) > cap:
        raise Malformed(f"{what} longer than {cap} characters")


def _list(value: Any, cap: int, what: str) -> None:
    if not isinstance(value, list):
        raise Malformed(f"{what} is not a list")
    if len(value) > cap:
        raise Malformed(f"more than {cap} {what}")


def _expect(message: dict, name: str, types) -> None:
    value = message.get(name)
    if not isinstance(value, types) or isinstance(value, bool):
        raise Malformed(f"{name} is not a number")


def _show(value: Any) -> str:
    """A short, printable rendering of an offending value."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
