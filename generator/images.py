"""Find every image a card's Markdown names, and accept it only if it is a file of the deck.

An image link is a request to publish a file: whatever it names goes into the .apkg, the PDF
and the live page. So a link must resolve, symlinks followed, inside the deck's directory, and
the file must be an image by its content (PNG, JPEG, GIF, WebP, or an SVG that references
nothing outside itself), at most MAX_BYTES. docs/security.md, section 4, says why.
"""
from __future__ import annotations

import os
import re
import xml.parsers.expat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .errors import display_path
from .render import parse_markdown

MB = 1024 * 1024
MAX_BYTES = 5 * MB  # a flashcard's picture; a photo straight off a camera is refused
SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Kind:
    """An accepted image type: what the content starts with, and how it is served and named."""

    name: str
    mime: str
    suffix: str


PNG = Kind("PNG", "image/png", ".png")
JPEG = Kind("JPEG", "image/jpeg", ".jpg")
GIF = Kind("GIF", "image/gif", ".gif")
WEBP = Kind("WebP", "image/webp", ".webp")
SVG = Kind("SVG", "image/svg+xml", ".svg")


class Refused(ValueError):
    """Why a link or a file is not an image of the deck (one clause, for a located error)."""


def links(markdown: str) -> list[tuple[str, int]]:
    """Every image MARKDOWN names, as the renderer parses it (inline `![x](p)`, reference-style
    `![x][r]` with `[r]: p`, images inside links or alt text), with the 0-based line of its block."""
    found: list[tuple[str, int]] = []

    def walk(tokens, line: int) -> None:
        for token in tokens:
            here = token.map[0] if token.map else line
            if token.type == "image":
                found.append((token.attrGet("src") or "", here))
            if token.children:
                walk(token.children, here)

    walk(parse_markdown(markdown), 0)
    return found


def unlinked(target: str) -> str:
    """A link's file name: the parser percent-encodes it (`<a b.png>` arrives as `a%20b.png`)."""
    return unquote(target)


def locate(target: str, topic_dir: Path, deck_dir: Path) -> Path:
    """The file link TARGET names (relative to the topic file's TOPIC_DIR), resolved with its
    symlinks; refused unless it is inside DECK_DIR."""
    name = unlinked(target)
    if SCHEME_RE.match(name) or name.startswith("//"):
        raise Refused("must be a file of the deck, not a URL")
    if name.startswith("/"):
        raise Refused("is an absolute path: name it relative to the topic file, inside the deck directory")
    if not name.strip() or "\0" in name:
        raise Refused("names no file")
    root = deck_dir.resolve()
    path = (topic_dir / name).resolve()
    if root != path and root not in path.parents:
        raise Refused(f"resolves to {display_path(path)}, outside the deck directory {display_path(root)}"
                      + (" (through a symlink)" if _via_link(topic_dir, name) else ""))
    if not path.exists():
        raise Refused(f"not found (looked for {path})")
    if not path.is_file():
        raise Refused(f"is not a file ({path})")
    return path


def _via_link(topic_dir: Path, name: str) -> bool:
    """Whether some component of the link is a symlink (for the error message only)."""
    path = topic_dir
    for part in Path(name).parts:
        path = path / part
        if path.is_symlink():
            return True
    return False


def accept(target: str, topic_dir: Path, deck_dir: Path) -> Path:
    """The file link TARGET names, if it is an image of the deck (see `locate` and `read`)."""
    path = locate(target, topic_dir, deck_dir)
    read(path)
    return path


def read(path: Path) -> tuple[bytes, Kind]:
    """PATH's bytes and type, if it is an image tfcards will publish: at most MAX_BYTES, and an
    accepted type by its content (never its name). Read again by every writer, so what ships is
    what was checked."""
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
        size = max(len(data), os.fstat(f.fileno()).st_size)
    if size > MAX_BYTES:
        raise Refused(f"is {size / MB:.1f} MB; an image may be at most {MAX_BYTES // MB} MB")
    return data, kind(data)


def kind(data: bytes) -> Kind:
    """The accepted type DATA holds, by its first bytes (an SVG: by parsing it)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        check_svg(data)
        return SVG
    raise Refused("is not a PNG, JPEG, GIF, WebP or SVG image (judged by its content, not its name)")


# SVG: the file is published as it is, and a browser viewing it as a document runs its scripts and
# fetches what it links. Rather than rewrite it, an SVG that could do either is refused.
SVG_REFUSED_ELEMENTS = {
    "script": "holds a <script>",
    "foreignObject": "holds a <foreignObject> (HTML inside an SVG)",
    "set": "animates an attribute (<set> can change a link after this check)",
    "animate": "animates an attribute (<animate> can change a link after this check)",
    "animateMotion": "animates (<animateMotion> can reference a path elsewhere)",
    "animateTransform": "animates an attribute (<animateTransform>)",
}
LINK_ATTRIBUTES = {"href", "src"}
CSS_URL_RE = re.compile(r"url\(\s*(['\"]?)\s*([^)'\"\s]*)", re.I)
CSS_REFUSED = ("@import", "@font-face", "image-set(", "image(", "src(", "\\")


def check_svg(data: bytes) -> None:
    """Refuse an SVG that is not well-formed XML with an <svg> root, declares entities, carries a
    script, an event handler or an animation, or references anything but its own fragments
    (`href="#id"`, `url(#id)`)."""
    _SvgCheck().run(data)


class _SvgCheck:
    """One pass of expat over an SVG; the first thing refused raises Refused."""

    def __init__(self) -> None:
        self.elements = 0
        self.style: list[str] | None = None  # the text of the <style> element being read
        parser = self.parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self.doctype
        parser.EntityDeclHandler = lambda name, *_: self.refuse(f"declares an entity ({name})")
        parser.ProcessingInstructionHandler = lambda target, _: self.refuse(
            f"holds a processing instruction <?{target} ...?>")
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.text

    def run(self, data: bytes) -> None:
        try:
            self.parser.Parse(data, True)
        except xml.parsers.expat.ExpatError as e:
            raise Refused(f"is not well-formed XML, so not an SVG image "
                          f"({xml.parsers.expat.errors.messages.get(e.code, e)} at line {e.lineno})") from None

    @staticmethod
    def refuse(why: str):
        raise Refused(f"is an SVG that {why}")

    def doctype(self, _name, _system, _public, internal_subset) -> None:
        if internal_subset:  # `<!DOCTYPE svg PUBLIC ...>` alone is common (matplotlib) and inert
            self.refuse("declares its own DOCTYPE entries (entities can read other files)")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        if not self.elements and (local != "svg" or namespace not in ("", SVG_NS)):
            raise Refused(f"is not an image: its root element is <{local}>, not <svg>")
        self.elements += 1
        if local in SVG_REFUSED_ELEMENTS:
            self.refuse(SVG_REFUSED_ELEMENTS[local])
        for attribute, value in attributes.items():
            attr_namespace, _, attr = attribute.rpartition(" ")
            if attr.lower().startswith("on"):
                self.refuse(f"has an event handler ({attr}=...)")
            if attr in LINK_ATTRIBUTES and not value.strip().startswith("#"):
                self.refuse(f"references {value!r} ({attr}=); only its own fragments (#id) are allowed")
            if not attr_namespace:  # style and presentation attributes are CSS; an editor's own are not
                self.css(value)
        self.style = [] if local == "style" else None

    def text(self, chars: str) -> None:
        if self.style is not None:
            self.style.append(chars)

    def end(self, name: str) -> None:
        if self.style is not None:
            self.css("".join(self.style))
        self.style = None

    def css(self, css: str) -> None:
        lowered = css.lower()
        for word in CSS_REFUSED:
            if word in lowered:
                self.refuse(f"has CSS with {word!r}, which can load another file" if word != "\\"
                            else "has CSS with a backslash escape, which can hide a url(...)")
        for _, target in CSS_URL_RE.findall(css):
            if not target.startswith("#"):
                self.refuse(f"references url({target}); only its own fragments (url(#id)) are allowed")
