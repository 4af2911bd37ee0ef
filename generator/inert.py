"""What a card or its run says, made inert for the program that reads it: a terminal, an XML parser.

Card text, card output, exception messages and file names are the deck's words, not tfcards'. On
a terminal a carriage return or an escape sequence in them could overwrite a line ("1 passed"),
set the clipboard (OSC 52) or reorder text (bidi controls); in XML a NUL makes the file unreadable.
So those characters are shown as visible escapes, as git quotes an odd file name
(docs/security.md, section 5).
"""
from __future__ import annotations

import re

# C0 and C1 controls but tab and newline, DEL, bidi and line-separator format characters,
# and lone surrogates (undecodable bytes; they would crash an encoder)
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
# what XML 1.0 forbids (https://www.w3.org/TR/xml/#charsets)
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _visible(m: re.Match) -> str:
    c = m.group()
    return "\\r" if c == "\r" else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def line(text: str) -> str:
    """TEXT for a terminal, on one line: newlines too become `\\n`."""
    return TERMINAL_UNSAFE.sub(_visible, text).replace("\n", "\\n")


def lines(text: str) -> list[str]:
    """TEXT for a terminal, one item per line it holds (split at newlines only)."""
    return [TERMINAL_UNSAFE.sub(_visible, part) for part in text.split("\n")]


def xml(text: str) -> str:
    """TEXT with every character XML 1.0 forbids shown as a visible escape."""
    return XML_FORBIDDEN.sub(_visible, text)
