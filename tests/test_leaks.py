"""Nothing leaves through the build or the live page, and what a card says reaches other programs
inert (docs/security.md, sections 4 and 5). Each way in is tried as a stranger's deck would try
it, through the CLI, and each output is read back with the program that would read it."""
from __future__ import annotations

import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import images
from generator.cli import main

DATA = Path(__file__).parent / "data"
PNG = (DATA / "anki" / "images" / "grid.png").read_bytes()
MARK = b"TFCARDS-SECRET-0451"  # the bytes that must never reach an output
SECRET_PNG = b"\x89PNG\r\n\x1a\n" + MARK  # passes a magic-bytes check: only confinement stops it
SVG = b"""<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="40" height="20" viewBox="0 0 40 20">
 <defs><style type="text/css">*{stroke-linejoin: round}</style>
  <linearGradient id="g"><stop offset="0" stop-color="#123456"/></linearGradient></defs>
 <rect id="r" x="0" y="0" width="40" height="20" fill="#ff00aa"/>
 <use xlink:href="#r"/>
 <rect x="5" y="5" width="5" height="5" style="fill: url(#g)"/>
</svg>
"""  # as matplotlib writes one: a DOCTYPE naming the DTD, its own fragments only
SVG_PINK = (1.0, 0.0, 0.666667)  # the rect's #ff00aa, as pdfplumber reads it back


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def topic(*cards: tuple[str, str]) -> str:
    """A topic file of concept cards: (id, front Markdown as a literal block)."""
    body = "".join(f"  - id: {cid}\n    front: |\n{textwrap.indent(front, '      ')}\n    back: b\n"
                   for cid, front in cards)
    return "topic: Pictures\ncards:\n" + body


def outputs_hold(root: Path, data: bytes) -> list[Path]:
    """Every file under ROOT whose bytes (or, for a zip, whose members' bytes) hold DATA."""
    import zipfile
    found = []
    for folder, _, files in os.walk(root):  # symlinks not followed: a link out is not an output
        path_list = [Path(folder) / f for f in files]
        for path in path_list:
            if path.is_symlink():
                continue
            blob = path.read_bytes()
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    blob += b"".join(z.read(n) for n in z.namelist())
            if data in blob:
                found.append(path)
    return found


# --- 1. an image is a file of the deck ------------------------------------------------------------

@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp/outside/secret.png (a PNG holding MARK, outside the deck) and tmp/proj/cards/."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.png").write_bytes(SECRET_PNG)
    proj = tmp_path / "proj"
    (proj / "cards" / "images").mkdir(parents=True)
    monkeypatch.chdir(proj)
    return proj


def _symlink_out(cards: Path) -> None:
    (cards / "images" / "link.png").symlink_to(cards.parent.parent / "outside" / "secret.png")


def _dir_symlink_out(cards: Path) -> None:
    (cards / "images" / "elsewhere").symlink_to(cards.parent.parent / "outside", target_is_directory=True)


def _fake(cards: Path) -> None:
    (cards / "images" / "fake.png").write_bytes(b"not an image: " + MARK + b"\n")


def _big(cards: Path) -> None:
    (cards / "images" / "big.png").write_bytes(SECRET_PNG + b"\0" * (images.MAX_BYTES + 1))


def _external_svg(cards: Path) -> None:
    (cards / "images" / "ext.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="../../../outside/secret.png"/></svg>')


WAYS = {  # way in: (makes its files, the card's front, what the error says)
    "relative-escape": (None, "A ![x](../../outside/secret.png)", r"resolves to /\S+/outside/secret\.png, outside the deck directory cards$"),
    "encoded-escape": (None, "A ![x](%2e%2e/%2e%2e/outside/secret.png)", r"outside the deck directory cards$"),
    "absolute-path": (None, "A ![x]({secret})", r"is an absolute path"),
    "symlink-out": (_symlink_out, "A ![x](images/link.png)", r"outside the deck directory cards \(through a symlink\)$"),
    "dir-symlink-out": (_dir_symlink_out, "A ![x](images/elsewhere/secret.png)", r"outside the deck directory cards \(through a symlink\)$"),
    "not-an-image": (_fake, "A ![x](images/fake.png)", r"is not a PNG, JPEG, GIF, WebP or SVG image \(judged by its content"),
    "oversized": (_big, "A ![x](images/big.png)", r"is 5\.0 MB; an image may be at most 5 MB"),
    "reference-style": (None, "A ![x][r]\n\n[r]: ../../outside/secret.png", r"outside the deck directory cards$"),
    "svg-external-url": (_external_svg, "A ![x](images/ext.svg)", r"is an SVG that references '\.\./\.\./\.\./outside/secret\.png'"),
    "url": (None, "A ![x](https://example.org/a.png)", r"must be a file of the deck, not a URL"),
    "data-url": (None, "A ![x](data:image/png;base64,iVBORw0KGgo=)", r"must be a file of the deck, not a URL"),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_an_image_from_outside_the_deck_is_refused_by_every_command(project, way):
    make, front, says = WAYS[way]
    cards = project / "cards"
    if make:
        make(cards)
    front = front.format(secret=project.parent / "outside" / "secret.png")
    (cards / "t.yaml").write_text(topic(("fine", "no picture"), (way, "Some text\n\n" + front)))
    line = 11  # the front's third line, where the paragraph naming the image starts
    for command in (["verify"], ["list"], ["build", "--format", "all"]):
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
        errors = [l for l in result.output.splitlines() if l.startswith("error:")]
        assert len(errors) == 1, result.output
        assert re.match(rf"error: cards/t\.yaml:{line}: card '{way}': image '[^']*' (resolves to [^,]+, )?{says}", errors[0]), errors[0]
    assert not (project / "build").exists()  # nothing written, not even the cache
    assert outputs_hold(project, MARK) == ([cards / "images" / "fake.png"] if way == "not-an-image" else
                                           [cards / "images" / "big.png"] if way == "oversized" else [])


def test_a_clean_deck_ships_its_png_and_svg_into_the_apkg_and_the_pdf(project, tmp_path):
    import pdfplumber
    from anki.collection import Collection, ImportAnkiPackageRequest

    cards = project / "cards"
    (cards / "images" / "grid.png").write_bytes(PNG)
    (cards / "images" / "box.svg").write_bytes(SVG)
    (cards / "sub").mkdir()  # a topic file in a subdirectory may reach the deck's images above it
    (cards / "sub" / "t.yaml").write_text(topic(
        ("png-card", "A grid: ![a grid](../images/grid.png)"),
        ("svg-card", "A box: ![a box][box]\n\n[box]: <../images/box.svg>")))
    result = run("build", "--format", "all", "--no-cache")
    assert result.exit_code == 0, result.output

    (tmp_path / "col").mkdir()
    col = Collection(str(tmp_path / "col" / "collection.anki2"))
    try:
        options = col._backend.get_import_anki_package_presets()
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(project / "build" / "tensorflow.apkg"),
                                                         options=options))
        media = {p.suffix: p.read_bytes() for p in Path(col.media.dir()).iterdir()}
        assert media == {".png": PNG, ".svg": SVG}
        fronts = " ".join(col.get_note(n)["Front"] for n in col.find_notes(""))
        assert re.search(r'src="tfcards-[0-9a-f]{10}-grid\.png"', fronts)
        assert re.search(r'src="tfcards-[0-9a-f]{10}-box\.svg"', fronts)
    finally:
        col.close()

    with pdfplumber.open(project / "build" / "tensorflow-duplex-a4-3x5.pdf") as pdf:
        pictures = [i for p in pdf.pages for i in p.images]
        pink = [r for p in pdf.pages for r in p.rects if r.get("non_stroking_color") == SVG_PINK]
    assert len(pictures) == 1 and pictures[0]["srcsize"] == (8, 4)  # grid.png, 8 x 4 pixels
    assert pink  # the SVG's rect, drawn as vectors


# --- images.kind and the SVG rules, one refused way each ---------------------------------------------

SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
BAD_SVGS = {
    "href": (f'{SVG_OPEN}<image href="file:///etc/passwd"/></svg>', "references 'file:///etc/passwd'"),
    "xlink-href": (f'{SVG_OPEN}<image xlink:href="http://x.org/a.png"/></svg>', "references 'http://x.org/a.png'"),
    "relative-href": (f'{SVG_OPEN}<use href="other.svg#a"/></svg>', "references 'other.svg#a'"),
    "style-attribute-url": (f'{SVG_OPEN}<rect style="fill: url(http://x.org/p)"/></svg>', "references url(http://x.org/p)"),
    "presentation-url": (f'{SVG_OPEN}<rect fill="url(\'/etc/passwd\')"/></svg>', "references url(/etc/passwd)"),
    "style-element-url": (f'{SVG_OPEN}<style>rect {{ fill: url("x.svg#p") }}</style></svg>', "references url(x.svg#p)"),
    "import": (f'{SVG_OPEN}<style>@import "x.css";</style></svg>', "'@import'"),
    "css-escape": (f'{SVG_OPEN}<style>rect {{ fill: \\75 rl(x.svg) }}</style></svg>', "backslash escape"),
    "entity": ('<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + SVG_OPEN + "&x;</svg>", "DOCTYPE entries"),
    "script": (f"{SVG_OPEN}<script>alert(1)</script></svg>", "holds a <script>"),
    "event-handler": (f'{SVG_OPEN}<rect onclick="alert(1)"/></svg>', "event handler"),
    "foreign-object": (f"{SVG_OPEN}<foreignObject><img src='x'/></foreignObject></svg>", "<foreignObject>"),
    "set-animation": (f'{SVG_OPEN}<a href="#a"><set attributeName="href" to="http://x"/></a></svg>', "<set>"),
    "stylesheet-pi": ('<?xml-stylesheet href="http://x.org/s.css"?>' + SVG_OPEN + "</svg>", "processing instruction"),
    "not-xml": ("<svg <<", "not well-formed XML"),
    "html-root": ("<html><body>hi</body></html>", "root element is <html>, not <svg>"),
}


@pytest.mark.parametrize("name", list(BAD_SVGS))
def test_an_svg_that_could_load_or_run_something_is_refused(name):
    text, says = BAD_SVGS[name]
    with pytest.raises(images.Refused, match=re.escape(says)):
        images.kind(text.encode())


@pytest.mark.parametrize("data, kind", [(PNG, images.PNG), (b"\xff\xd8\xff\xe0" + b"\0" * 16, images.JPEG),
                                        (b"GIF89a" + b"\0" * 8, images.GIF), (b"RIFF\0\0\0\0WEBPVP8 ", images.WEBP),
                                        (SVG, images.SVG)], ids=["png", "jpeg", "gif", "webp", "svg"])
def test_an_image_is_accepted_by_its_content(data, kind):
    assert images.kind(data) is kind


def test_every_way_markdown_names_an_image_is_found():
    text = ("![a](in.png) and [![b](in-link.png)](https://x.org)\n\n"
            "![c][ref] and ![d][]\n\n[ref]: <ref path.png>\n[d]: d.png\n\n"
            "- item\n\n  > ![e](deep.png)\n\n| t |\n|---|\n| ![f](cell.png) |\n")
    found = images.links(text)
    assert [images.unlinked(t) for t, _ in found] == ["in.png", "in-link.png", "ref path.png", "d.png",
                                                      "deep.png", "cell.png"]
    assert [line for _, line in found] == [0, 0, 2, 2, 9, 13]
