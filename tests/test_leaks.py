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
from test_serve import browser  # noqa: F401 - the headless Chromium fixture

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

    with pdfplumber.open(project / "build" / "tensorflow-duplex-a4-3x5-flip-long.pdf") as pdf:
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


# --- 2. only declared files reach the PDF ------------------------------------------------------------

@pytest.mark.parametrize("css, jobs", [("body { background: url(file:///etc/passwd); }", "2"),
                                       ('@import url("http://127.0.0.1:9/x.css");', "1"),
                                       ("body { background: url(../../../outside/secret.png); }", "2")],
                         ids=["file-url", "network", "relative-out-of-templates"])
def test_a_template_naming_another_url_stops_the_pdf_with_one_line(project, css, jobs):
    from generator.render import default_templates_dir

    cards = project / "cards"
    (cards / "images" / "grid.png").write_bytes(PNG)
    (cards / "t.yaml").write_text(topic(("png-card", "A grid: ![a grid](images/grid.png)")))
    templates = project.parent / "templates"
    shutil.copytree(default_templates_dir(), templates)
    sheet = templates / "pdf" / "cards.css"
    sheet.write_text(css + "\n" + sheet.read_text())
    result = run("build", "--format", "pdf", "--templates", str(templates), "--no-cache", "--jobs", jobs)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [l for l in result.output.splitlines() if l.startswith("error:")]
    url = re.search(r"url\(\"?([^)\"]+)", css).group(1)
    assert re.match(r"error: the PDF names '(file://)?\S*%s', which tfcards does not load" % re.escape(url.lstrip("./")), line), line
    assert not list(project.rglob("*.pdf"))


def test_a_template_may_use_its_own_files(project):
    """The templates' own assets are declared: a background image beside the CSS is drawn."""
    from generator.render import default_templates_dir
    import pdfplumber

    cards = project / "cards"
    (cards / "t.yaml").write_text(topic(("plain", "no picture")))
    templates = project.parent / "templates"
    shutil.copytree(default_templates_dir(), templates)
    (templates / "pdf" / "corner.png").write_bytes(PNG)
    sheet = templates / "pdf" / "cards.css"
    sheet.write_text(sheet.read_text() + "\n.side { background: url(corner.png) no-repeat; }\n")
    result = run("build", "--format", "pdf", "--templates", str(templates), "--no-cache", "--jobs", "1")
    assert result.exit_code == 0, result.output
    with pdfplumber.open(project / "build" / "tensorflow-duplex-a4-3x5-flip-long.pdf") as pdf:
        assert any(i["srcsize"] == (8, 4) for p in pdf.pages for i in p.images)


# --- 3. the live page answers only itself ---------------------------------------------------------

SCRIPTED_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """`tfcards serve --port 0` on a deck with a PNG, an SVG and one card naming a file outside
    the deck; yields (base URL, port, project dir)."""
    import signal
    import subprocess
    import sys

    proj = tmp_path_factory.mktemp("live")
    cards = proj / "cards"
    (cards / "images").mkdir(parents=True)
    (proj / "secret.png").write_bytes(SECRET_PNG)
    (cards / "images" / "grid.png").write_bytes(PNG)
    (cards / "images" / "box.svg").write_bytes(SVG)
    (cards / "images" / "swapped.svg").write_bytes(SVG)
    (cards / "t.yaml").write_text(topic(("pictures", "![a grid](images/grid.png) ![a box](images/box.svg)"),
                                        ("swapped", "![later a script](images/swapped.svg)")))
    (cards / "bad.yaml").write_text(topic(("leaky", "Text\n\n![x](../secret.png)")))
    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "serve", "--port", "0", "--jobs", "1"],
                            cwd=proj, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + proc.stderr.read()
        yield match.group(0), int(match.group(1)), proj
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def fetch(port: int, path: str, host: str | None = None):
    """GET PATH from the live server with this Host header (default: its own address)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("host", ["evil.example:{port}", "rebound.attacker.test:{port}", "127.0.0.1:1",
                                  "localhost", "127.0.0.1:{port}@evil.example", ""])
def test_a_request_for_another_host_is_refused(live, host):
    _, port, _ = live
    status, _, body = fetch(port, "/", host.format(port=port))
    assert status == 421, body
    assert b"answers only requests addressed to http://127.0.0.1:" in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_its_own_address_and_localhost_are_answered(live, host):
    _, port, _ = live
    status, _, _ = fetch(port, "/", host.format(port=port))
    assert status == 200


@pytest.mark.parametrize("header, host, ok", [
    ("127.0.0.1:8000", "127.0.0.1", True), ("localhost:8000", "127.0.0.1", True), ("[::1]:8000", "::1", True),
    ("localhost.:8000", "127.0.0.1", True), ("evil.example:8000", "127.0.0.1", False),
    ("127.0.0.1:8001", "127.0.0.1", False), ("127.0.0.1", "127.0.0.1", False), (None, "127.0.0.1", False),
    ("192.168.1.5:8000", "127.0.0.1", False), ("192.168.1.5:8000", "0.0.0.0", True),
    ("[fe80::1]:8000", "::", True), ("evil.example:8000", "0.0.0.0", False),
    ("deck.lan:8000", "deck.lan", True), ("127.0.0.1:8000/x", "127.0.0.1", False)])
def test_which_host_headers_are_answered(header, host, ok):
    from generator.serve.app import Hosts
    assert Hosts(host, 8000).allows(header) is ok


def test_every_response_carries_the_policy_and_nosniff(live):
    _, port, _ = live
    for path in ("/", "/card/pictures", "/static/serve.js", "/static/serve.css", "/note.css", "/nothing-here"):
        _, headers, _ = fetch(port, path)
        assert headers["X-Content-Type-Options"] == "nosniff", path
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy.replace(
            "style-src-attr 'unsafe-inline'", ""), (path, policy)


def test_media_serves_only_accepted_images_and_sandboxes_svg(live):
    _, port, proj = live
    status, _, page = fetch(port, "/card/pictures")
    assert status == 200
    names = {stem: name for name, stem in re.findall(r'src=&#34;(tfcards-[0-9a-f]{10}-(\w+)\.(?:png|svg))&#34;',
                                                     page.decode())}
    status, headers, body = fetch(port, f"/media/{names['grid']}")
    assert status == 200 and body == PNG and headers["Content-Type"] == "image/png"
    status, headers, body = fetch(port, f"/media/{names['box']}")
    assert status == 200 and body == SVG and headers["Content-Type"] == "image/svg+xml"
    assert headers["Content-Security-Policy"].startswith("sandbox;")
    # a file that was a clean SVG when its card loaded and now holds a script is not served at all
    status, _, page = fetch(port, "/card/swapped")
    (swapped,) = set(re.findall(r'src=&#34;(tfcards-[0-9a-f]{10}-swapped\.svg)&#34;', page.decode()))
    (proj / "cards" / "images" / "swapped.svg").write_bytes(SCRIPTED_SVG)
    status, _, body = fetch(port, f"/media/{swapped}")
    assert status == 404 and b"<script>" not in body
    # nothing else: not the deck's sources, not the file outside it that a card names
    for path in ("/media/t.yaml", "/media/..%2Fsecret.png", "/media/secret.png", "/images/grid.png"):
        status, _, body = fetch(port, path)
        assert status == 404 and MARK not in body, path


def test_the_live_page_names_the_card_whose_image_is_outside_the_deck(live):
    _, port, _ = live
    _, _, page = fetch(port, "/")
    assert re.search(r"cards/bad\.yaml:7: card &#39;leaky&#39;: image &#39;\.\./secret\.png&#39; resolves to \S+, "
                     r"outside the deck directory cards", page.decode()), page.decode()
    assert MARK not in page


def test_the_pages_run_under_their_policy_in_a_browser(live, browser):
    """Headless Chromium: no policy violation on the deck and card pages, the previews styled by
    the linked note CSS and their images loaded; and a script from elsewhere is blocked."""
    from selenium.webdriver.support.ui import WebDriverWait

    url, _, _ = live
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', e => (window.top.__violations || []).push("
        "e.effectiveDirective + ' ' + e.blockedURI), true);")})
    browser.get(url)
    browser.get(url + "card/pictures")
    frames_ready = ("return [...document.querySelectorAll('iframe.anki-card')].every(f => f.contentDocument"
                    " && f.contentDocument.readyState === 'complete' && [...f.contentDocument.images]"
                    ".every(i => i.complete && i.naturalWidth > 0))")
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(frames_ready))
    looks = browser.execute_script(
        "return [...document.querySelectorAll('iframe.anki-card')].map(f => [f.contentDocument.images.length,"
        " getComputedStyle(f.contentDocument.body).backgroundColor])")
    assert {n for n, _ in looks} == {2} and len({colour for _, colour in looks}) == 2  # day and night
    assert browser.execute_script("return window.__violations") == []
    browser.execute_script("const s = document.createElement('script'); s.src = 'http://example.invalid/x.js';"
                           "document.head.append(s)")
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return window.__violations.length"))
    assert browser.execute_script("return window.__violations") == ["script-src-elem http://example.invalid/x.js"]


# --- 4. inert output: terminal, JUnit, Anki fields, stamps, the default build/ --------------------

HOSTILE_TALK = r'''
topic: "Evil\e]52;c;QUFB\a topic"
cards:
  - id: forger
    front: Does it print ok?
    back: Yes.
    code: |
      import sys
      print("ok\r1 passed, 0 failed in 0.1 s (TensorFlow 2.21.0)\x1b]52;c;ZWNobyBwd25lZA==\x07")
      sys.stderr.write("\x1b[2J\x1b]0;title\x07stderr\u202etxt\n")
    output: ok
  - id: raiser
    front: Does it raise TypeError?
    back: Yes.
    code: |
      raise ValueError("\x1b[2K\r1 passed \x1b]52;c;QUJD\x07")
    raises: TypeError
  - id: nul
    front: Does it print x?
    back: Yes.
    code: |
      print("x\x00\x1b[31m\x0b\x7f y")
    output: x
'''
FORBIDDEN_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@pytest.fixture(scope="module")
def hostile_talk(tmp_path_factory):
    """`tfcards verify --junit` on the deck above, as a CI job runs it (a pipe, not a terminal);
    yields (exit status, stdout bytes, stderr bytes, JUnit path, project)."""
    import subprocess
    import sys

    proj = tmp_path_factory.mktemp("talk")
    (proj / "cards").mkdir()
    (proj / "cards" / "evil.yaml").write_text(HOSTILE_TALK.lstrip())
    done = subprocess.run([sys.executable, "-m", "generator.cli", "verify", "--jobs", "1", "--junit", "out.xml"],
                          cwd=proj, capture_output=True, env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
    return done.returncode, done.stdout, done.stderr, proj / "out.xml", proj


def test_a_card_cannot_write_control_sequences_to_the_terminal(hostile_talk):
    status, out, err, _, _ = hostile_talk
    assert status == 1, err
    for raw in (b"\r", b"\x07", b"\x1b", b"\x00", b"\x0b", "\u202e".encode()):
        assert raw not in out + err, raw
    text = err.decode()
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in text  # shown, as a visible escape
    assert "    | \\x1b[2J\\x1b]0;title\\x07stderr\\u202etxt" in text  # stderr lines stay lines
    assert re.search(r"^FAILED cards/evil\.yaml:11: card 'raiser': expected TypeError, got ValueError: \\x1b\[2K$",
                     text, re.M), text
    assert "    ValueError: \\x1b[2K\\r1 passed \\x1b]52;c;QUJD\\x07\n" in text  # the traceback's last line
    summaries = [l for l in (out + err).decode().splitlines() if re.match(r"\d+ passed", l)]
    assert summaries == [summaries[0]] and summaries[0].startswith("0 passed, 3 failed")


def test_on_a_terminal_too_only_tfcards_own_colours_are_escape_sequences(hostile_talk):
    _, _, _, _, proj = hostile_talk
    cwd = os.getcwd()
    os.chdir(proj)
    try:
        result = CliRunner().invoke(main, ["verify", "--jobs", "1"], color=True)  # cached verdicts
        listing = CliRunner().invoke(main, ["list"], color=True)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1
    ours = re.compile(r"\x1b\[\d+m")
    for output in (result.output, listing.output):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", ours.sub("", output)), output
    assert "\x1b[31m" in result.output  # the FAILED lines are red: the check above saw colours
    assert listing.output.startswith("01 Evil\\x1b]52;c;QUFB\\x07 topic")  # numbered as its Anki subdeck


def test_junit_stays_well_formed_whatever_a_card_prints(hostile_talk):
    from xml.etree import ElementTree as ET

    _, _, _, junit, _ = hostile_talk
    root = ET.parse(junit).getroot()  # raises on a NUL or an ESC
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["nul"].find("system-out").text == "x\\x00\\x1b[31m\\x0b\x7f y\n"  # DEL is allowed in XML
    assert cases["raiser"].find("failure").get("message").startswith("expected TypeError, got ValueError: \\x1b[2K")
    assert cases["forger"].get("classname") == "Evil\\x1b]52;c;QUFB\x07 topic".replace("\x07", "\\x07")
    assert not FORBIDDEN_IN_XML.search(junit.read_text(encoding="utf-8"))


def test_anki_topic_and_status_fields_are_escaped(project, tmp_path):
    from anki.collection import Collection, ImportAnkiPackageRequest

    (project / "cards" / "t.yaml").write_text(textwrap.dedent('''\
        topic: "<img src=x onerror=alert(1)> & co"
        cards:
          - id: skipped
            front: q
            back: a
            code: print(1)
            output: "1"
            skip: "<script>alert(2)</script> needs a GPU"
        '''))
    result = run("build", "--no-cache")
    assert result.exit_code == 0, result.output
    (tmp_path / "col").mkdir()
    col = Collection(str(tmp_path / "col" / "collection.anki2"))
    try:
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(project / "build" / "tensorflow.apkg"),
                                                         options=col._backend.get_import_anki_package_presets()))
        (nid,) = col.find_notes("")
        note = col.get_note(nid)
        assert note["Topic"] == "&lt;img src=x onerror=alert(1)&gt; &amp; co"
        assert "not verified: &lt;script&gt;alert(2)&lt;/script&gt; needs a GPU" in note["Status"]  # the footer
        assert "<script>" not in note["Status"]
        assert "<script>" not in note["Back"] and "<img src=x" not in note["Front"]
    finally:
        col.close()


@pytest.mark.parametrize("mod", ["100000000000000000000000000000", "1e29", "-1", '"1700000000"', "true", "1.5"])
def test_a_stamp_anki_cannot_hold_is_a_load_error(project, mod):
    cards = project / "cards"
    (cards / "t.yaml").write_text(topic(("plain", "no picture")))
    (cards / "anki-stamps.json").write_text(
        '{"about": "x",\n "stamps": {\n  "note:other": {"hash": "a", "mod": 1700000000},\n'
        f'  "note:plain": {{"hash": "b", "mod": {mod}}}\n}}}}\n')
    result = run("build", "--no-cache")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "OverflowError" not in result.output
    (line,) = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert line.startswith("error: cards/anki-stamps.json:4: stamp 'note:plain' has 'mod'"), line
    assert "whole number of seconds from 0 to 253402300799" in line
    assert not (project / "build").exists()


def test_the_default_build_dir_is_not_followed_out_of_the_working_directory(project):
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (project / "build").symlink_to(elsewhere, target_is_directory=True)  # as a deck could commit it
    (project / "cards" / "t.yaml").write_text(topic(("plain", "no picture")))
    result = run("verify")  # verify writes nothing under build/: the cache is the user's (docs/security.md)
    assert result.exit_code == 0 and not any(elsewhere.iterdir()), result.output
    for command in (["build"],):
        result = run(*command)
        assert result.exit_code == 2, result.output
        assert re.search(r"the default 'build(/\.cache)?' leads to \S+/elsewhere(/\.cache)? through a symlink, "
                         r"outside the working directory", result.output), result.output
        assert "Traceback" not in result.output
    assert list(elsewhere.iterdir()) == []
    result = run("build", "--out", "build", "--cache-dir", "build/.cache")  # typed: the user's choice
    assert result.exit_code == 0, result.output
    assert (elsewhere / "tensorflow.apkg").is_file()


def test_undecodable_and_reordering_characters_are_shown_not_obeyed():
    from generator import inert
    assert inert.lines("a\ud800b\u202ec\u2028d\x9be\tf\ng") == ["a\\ud800b\\u202ec\\u2028d\\x9be\tf", "g"]
    assert inert.line("a\nb\rc") == "a\\nb\\rc"
    assert inert.xml("a\ud800\ufffe\x1b\x7f\t\n") == "a\\ud800\\ufffe\\x1b\x7f\t\n"


def test_an_svg_editors_own_attributes_are_not_read_as_css():
    inkscape = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
                'inkscape:export-filename="C:\\Users\\me\\grid.png"><rect fill="#fff"/></svg>')
    assert images.kind(inkscape.encode()) is images.SVG


def test_serve_confines_images_to_the_directory_it_serves(project):
    """As `load_cards` does: a served directory is the deck; a served file, its own directory."""
    from generator.serve.workspace import Workspace

    cards = project / "cards"
    (cards / "images" / "grid.png").write_bytes(PNG)
    (cards / "sub").mkdir()
    (cards / "sub" / "t.yaml").write_text(topic(("up", "![a grid](../images/grid.png)")))
    whole = Workspace([Path("cards")], submit=lambda job: None)
    whole.scan()
    assert not whole.errors and [c.images for c in whole.cards] == [((cards / "images" / "grid.png").resolve(),)]
    one = Workspace([Path("cards/sub/t.yaml")], submit=lambda job: None)
    one.scan()
    (error,) = one.errors
    assert error.card_id == "up" and "outside the deck directory cards/sub" in error.plain
