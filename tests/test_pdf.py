"""The printable deck, read back from real PDFs: text, positions, cut marks, fitting, reproducibility."""
from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pdfplumber
import pypdf
import pytest

from generator import pdf
from generator.load import filter_cards, load_cards
from generator.pdf import chunks
from generator.pdf.geometry import CARD_SIZES, FLOOR_PT, duplex_sheet, foldover_sheet
from generator.render import default_templates_dir

DATA = Path(__file__).parent / "data" / "pdf"
PT_PER_MM = 72 / 25.4
TF = "2.21.0"


@pytest.fixture(scope="module")
def deck():
    return load_cards([DATA / "deck.yaml", DATA / "more.yaml"])


@pytest.fixture(scope="module")
def built(deck, tmp_path_factory):
    """Build each layout once per module: (result, pdfplumber pages' words and text)."""
    cache = {}

    def build(layout="duplex", paper="a4", card_size="3x5", flip="long", cards=None):
        key = (layout, paper, card_size, flip, tuple(c.id for c in cards) if cards else None)
        if key not in cache:
            out = tmp_path_factory.mktemp("pdf") / f"{layout}.pdf"
            result = pdf.write_pdf(cards or deck, out, tf_version=TF, layout=layout, paper=paper,
                                   card_size=card_size, flip=flip)
            cache[key] = result
        return cache[key]
    return build


def squash(text: str) -> str:
    """Text without layout: whitespace, list bullets and the mark that starts a wrapped code line."""
    return re.sub(r"[\s•↪]+", "", text)


def plain(markdown: str) -> str:
    """The words a reader sees of a Markdown field: markers dropped, cloze hidden."""
    text = re.sub(r"\{\{c\d+::(.*?)(?:::(.*?))?\}\}", lambda m: f"[{m.group(2)}]" if m.group(2) else "[...]",
                  markdown)
    text = re.sub(r"^\s*[-*]\s+", "", text, flags=re.M)
    return text.replace("`", "").replace("**", "")


def pages_text(path: Path) -> list[str]:
    with pdfplumber.open(path) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def id_positions(path: Path, ids: set[str]) -> list[dict[str, tuple[float, float]]]:
    """For every page: card id -> centre (mm) of the card id label."""
    found = []
    with pdfplumber.open(path) as doc:
        for page in doc.pages:
            found.append({w["text"]: ((w["x0"] + w["x1"]) / 2 / PT_PER_MM, (w["top"] + w["bottom"]) / 2 / PT_PER_MM)
                          for w in page.extract_words() if w["text"] in ids})
    return found


def slot_of(point: tuple[float, float], rects) -> int:
    x, y = point
    hits = [i for i, r in enumerate(rects) if r.x <= x <= r.x + r.w and r.y <= y <= r.y + r.h]
    assert len(hits) == 1, (point, rects)
    return hits[0]


def cut_marks(path: Path) -> list[set[tuple[float, float, float, float]]]:
    """Per page, the black filled rectangles (cut marks) in mm, rounded."""
    out = []
    with pdfplumber.open(path) as doc:
        for page in doc.pages:
            out.append({(round(r["x0"] / PT_PER_MM, 1), round(r["top"] / PT_PER_MM, 1),
                         round(r["width"] / PT_PER_MM, 1), round(r["height"] / PT_PER_MM, 1))
                        for r in page.rects if r["fill"] and tuple(r["non_stroking_color"] or ()) == (0, 0, 0)})
    return out


def slot_text(path: Path, page: int, rect) -> str:
    """The text inside one card slot (mm) of one page."""
    with pdfplumber.open(path) as doc:
        box = (rect.x * PT_PER_MM, rect.y * PT_PER_MM, (rect.x + rect.w) * PT_PER_MM, (rect.y + rect.h) * PT_PER_MM)
        return doc.pages[page].crop(box).extract_text() or ""


def side_texts(card) -> tuple[list[str], list[str]]:
    """What must be readable on the card's front and on its back."""
    front = [card.id, plain(card.front)]
    back = [card.id]
    if card.type == "cloze":
        back.append(re.sub(r"\{\{c\d+::(.*?)(?:::.*?)?\}\}", r"\1", card.front).replace("`", ""))
    if card.back:
        back.append(plain(card.back))
    if card.code:
        (front if card.code_on == "front" else back).append(card.code)
    back += [f for f in (card.output, card.raises) if f]
    if card.skip:
        back.append(f"not verified: {card.skip}")
    elif card.code:
        back.append(f"verified with TensorFlow {TF}")
    return front, back


@pytest.mark.parametrize("layout", ["duplex", "foldover"])
def test_every_front_and_back_is_printed_in_its_slot(built, deck, layout):
    result = built(layout)
    sheet = duplex_sheet("a4", "3x5") if layout == "duplex" else foldover_sheet("a4", "3x5")
    per = sheet.per_page
    for n, card in enumerate(deck):
        front_page = (2 if layout == "duplex" else 1) * (n // per)
        back_page = front_page + (1 if layout == "duplex" else 0)
        front_text = squash(slot_text(result.path, front_page, sheet.fronts[n % per]))
        back_text = squash(slot_text(result.path, back_page, sheet.backs[n % per]))
        want_front, want_back = side_texts(card)
        for want in want_front:
            assert squash(want) in front_text, (card.id, want)
        for want in want_back:
            assert squash(want) in back_text, (card.id, want)
    assert result.overflowing == ()


def test_sheet_prints_every_question_and_answer(built, deck):
    text = squash("".join(pages_text(built("sheet").path)))
    for card in deck:
        for want in sum(side_texts(card), []):
            assert squash(want) in text, (card.id, want)


@pytest.mark.parametrize("paper,card_size,flip", [
    ("a4", "3x5", "long"), ("a4", "3x5", "short"), ("letter", "business", "long"),
    ("letter", "business", "short"), ("a4", "4x6", "long")],
    ids=lambda v: str(v))
def test_duplex_backs_are_mirrored_behind_their_fronts(built, deck, paper, card_size, flip):
    result = built("duplex", paper, card_size, flip)
    sheet = duplex_sheet(paper, card_size, flip)
    positions = id_positions(result.path, {c.id for c in deck})
    marks = cut_marks(result.path)
    per = sheet.per_page
    assert len(positions) == 2 * -(-len(deck) // per)
    for n, card in enumerate(deck):
        front_page, back_page = 2 * (n // per), 2 * (n // per) + 1
        slot = slot_of(positions[front_page][card.id], sheet.fronts)
        assert slot == n % per
        assert slot_of(positions[back_page][card.id], sheet.backs) == slot
        # the back's slot is the front's turned over: same row and mirrored column, or the reverse
        front, back = sheet.fronts[slot], sheet.backs[slot]
        assert (back.x, back.y) in ((round(sheet.page_w - front.x - front.w, 4), front.y),
                                    (front.x, round(sheet.page_h - front.y - front.h, 4)))
    portrait = sheet.page_h >= sheet.page_w
    columns = (flip == "long") == portrait
    for front_marks, back_marks in zip(marks[0::2], marks[1::2]):
        assert front_marks, "cut marks on the front page"
        mirrored = {(round(sheet.page_w - x - w, 1), y, w, h) if columns else (x, round(sheet.page_h - y - h, 1), w, h)
                    for x, y, w, h in front_marks}
        assert _close(mirrored, back_marks)


def _close(a: set, b: set, tol: float = 0.15) -> bool:
    return len(a) == len(b) and all(any(all(abs(p - q) <= tol for p, q in zip(x, y)) for y in b) for x in a)


def test_duplex_grid_is_centred_on_every_preset():
    for paper in pdf.PAPERS:
        for size in CARD_SIZES:
            for flip in pdf.FLIPS:
                s = duplex_sheet(paper, size, flip)
                left = min(r.x for r in s.fronts)
                right = s.page_w - max(r.x + r.w for r in s.fronts)
                top = min(r.y for r in s.fronts)
                bottom = s.page_h - max(r.y + r.h for r in s.fronts)
                assert abs(left - right) < 1e-6 and abs(top - bottom) < 1e-6
                assert sorted((r.x, r.y) for r in s.backs) == sorted((r.x, r.y) for r in s.fronts)


def test_foldover_back_is_mirrored_across_the_fold(built, deck):
    result = built("foldover", card_size="business")
    sheet = foldover_sheet("a4", "business")
    positions = id_positions(result.path, {c.id for c in deck})
    for n, card in enumerate(deck):
        page = positions[n // sheet.per_page]
        labels = [w for w in page if w == card.id]
        assert labels
    with pdfplumber.open(result.path) as doc:
        words = [w for w in doc.pages[0].extract_words() if w["text"] == deck[0].id]
    centres = sorted((w["x0"] + w["x1"]) / 2 / PT_PER_MM for w in words)
    assert len(centres) == 2
    fold = sheet.fold.x + sheet.fold.w / 2
    assert centres[0] < fold < centres[1]
    # the two id labels sit symmetrically about the fold, up to the label being right-aligned
    assert abs((fold - centres[0]) - (centres[1] - fold)) < sheet.card.width


def test_filters_are_honoured(built, deck):
    kept = filter_cards(deck, tags=["keras"])
    result = built("duplex", cards=kept)
    text = squash("".join(pages_text(result.path)))
    assert {c.id for c in kept} == {"k-dense", "k-reverse"}
    for card in deck:
        assert (squash(plain(card.front)) in text) == (card in kept), card.id
    kept = filter_cards(deck, topics=["keras-layers"])
    text = squash("".join(pages_text(built("sheet", cards=kept).path)))
    assert "Tensors" not in text and "KerasLayers" in text.replace("layers", "Layers")


def test_too_long_card_is_reported_and_printed_whole(tmp_path):
    cards = load_cards([DATA / "long.yaml"])
    result = pdf.write_pdf(cards, tmp_path / "long.pdf", tf_version=TF)
    assert result.overflowing == ("l-huge",)
    texts = pages_text(result.path)
    joined = squash("".join(texts))
    huge = next(c for c in cards if c.id == "l-huge")
    for line in huge.code.splitlines():  # every one of its 60 lines, over the pages it needs
        assert squash(line) in joined
    # the grid pages hold the cards that fit; the huge one follows on pages of its own
    sheet = duplex_sheet("a4", "3x5")
    grid_pages = 2 * -(-2 // sheet.per_page)
    assert "l-huge" not in "".join(texts[:grid_pages])
    assert "What does this long program print?" in texts[grid_pages]
    assert len(texts) > grid_pages + 1
    # the card that fits only at a smaller size was shrunk, not clipped, and not reported
    medium = next(c for c in cards if c.id == "l-medium")
    assert squash(plain(medium.back)) in squash(slot_text(result.path, 1, sheet.backs[1]))
    with pdfplumber.open(result.path) as doc:
        sizes = {round(ch["size"], 1) for ch in doc.pages[1].chars if ch["text"] == "T"}
    assert min(sizes) < 10 and min(sizes) >= 6.5


def test_second_build_is_byte_identical(deck, tmp_path):
    for layout in ("duplex", "sheet"):
        a = pdf.write_pdf(deck, tmp_path / f"a-{layout}.pdf", tf_version=TF, layout=layout).path.read_bytes()
        b = pdf.write_pdf(deck, tmp_path / f"b-{layout}.pdf", tf_version=TF, layout=layout).path.read_bytes()
        assert a == b
        assert b"CreationDate" not in a and b"ModDate" not in a


def test_sizes_in_metadata_and_footer(built):
    result = built("duplex", "letter", "business", "short")
    meta = pypdf.PdfReader(result.path).metadata
    assert "88.9 x 50.8 mm" in meta["/Subject"] and "US Letter portrait 215.9 x 279.4 mm" in meta["/Subject"]
    assert meta["/cardsize"] == "business: 88.9 x 50.8 mm" and meta["/flip"] == "short"
    first = pages_text(result.path)[0]
    assert "each card must measure 88.9 x 50.8 mm" in first and "flip on the short edge" in first


def test_sheet_has_headings_toc_and_page_numbers(built, deck):
    texts = pages_text(built("sheet").path)
    assert "Tensors (5 cards)" in texts[0] and "Keras layers (3 cards)" in texts[0]
    assert f"page 1 of {len(texts)}" in texts[0]
    order = squash("".join(texts))
    positions = [order.index(squash(plain(c.front))) for c in deck]
    assert positions == sorted(positions)  # reading order


def test_user_templates_override(deck, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(default_templates_dir() / "pdf", templates / "pdf")
    side = templates / "pdf" / "side.html"
    side.write_text(side.read_text().replace('<span class="topic">', '<span class="topic">MYDECK '))
    result = pdf.write_pdf(deck[:1], tmp_path / "x.pdf", tf_version=TF, templates_dir=templates)
    assert "MYDECK" in pages_text(result.path)[0]


def test_failed_build_leaves_the_old_file_alone(deck, tmp_path):
    out = tmp_path / "deck.pdf"
    out.write_bytes(b"old")
    templates = tmp_path / "templates"
    shutil.copytree(default_templates_dir() / "pdf", templates / "pdf")
    (templates / "pdf" / "side.html").write_text("{% macro side(s) %}{{ s.no_such_field }}{% endmacro %}")
    with pytest.raises(Exception, match="no_such_field"):
        pdf.write_pdf(deck, out, tf_version=TF, templates_dir=templates)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["deck.pdf"]


def test_bad_options_are_refused(deck, tmp_path):
    with pytest.raises(ValueError, match="unknown paper"):
        pdf.write_pdf(deck, tmp_path / "x.pdf", tf_version=TF, paper="a3")
    with pytest.raises(ValueError, match="unknown layout"):
        pdf.write_pdf(deck, tmp_path / "x.pdf", tf_version=TF, layout="poster")


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("layout", ["duplex", "foldover"])
def test_deck_laid_out_in_chunks_prints_as_one_document(deck, tmp_path, monkeypatch, layout, jobs):
    """Chunks of pages are laid out separately, in this process or in worker processes whose PDFs
    are merged: the PDF must read as if laid out in one go, with the full-page cards on
    right-hand pages and their footers counting from the first page."""
    cards = deck + load_cards([DATA / "long.yaml"])
    whole = pdf.write_pdf(cards, tmp_path / "whole.pdf", tf_version=TF, layout=layout, jobs=1)
    monkeypatch.setattr(chunks, "CHUNK_PAGES", 2)
    chunked = pdf.write_pdf(cards, tmp_path / "chunked.pdf", tf_version=TF, layout=layout, jobs=jobs)
    assert chunked.overflowing == whole.overflowing == ("l-huge",)
    assert chunked.pages == whole.pages
    texts = pages_text(chunked.path)
    assert texts == pages_text(whole.path)
    huge = next(n for n, text in enumerate(texts) if "What does this long program print?" in text)
    if layout == "duplex":
        assert huge % 2 == 0, "a full-page card's front is on a right-hand page"
    assert f"page {huge + 1}" in texts[huge]


def test_chunks_from_worker_processes_merge_reproducibly(deck, tmp_path, monkeypatch):
    """The PDF merged from the chunks keeps the document's metadata and language, and builds
    give the same bytes with any number of jobs (no random /ID, no dates)."""
    monkeypatch.setattr(chunks, "CHUNK_PAGES", 2)
    one = pdf.write_pdf(deck, tmp_path / "one.pdf", tf_version=TF, paper="letter", flip="short", jobs=1)
    a, b = (pdf.write_pdf(deck, tmp_path / f"{n}.pdf", tf_version=TF, paper="letter", flip="short", jobs=2)
            for n in "ab")
    assert a.path.read_bytes() == b.path.read_bytes() == one.path.read_bytes()  # whatever the jobs
    assert b"CreationDate" not in a.path.read_bytes() and b"ModDate" not in a.path.read_bytes()
    merged, single = pypdf.PdfReader(a.path), pypdf.PdfReader(one.path)
    assert len(merged.pages) == a.pages == one.pages > 2  # more than one chunk was merged
    assert merged.metadata == single.metadata
    assert merged.metadata["/paper"] == "US Letter landscape 279.4 x 215.9 mm" and merged.metadata["/flip"] == "short"
    assert merged.metadata["/cardsize"] == "3x5: 127 x 76.2 mm" and merged.metadata["/tensorflow"] == TF
    assert merged.trailer["/Root"]["/Lang"] == single.trailer["/Root"]["/Lang"]
    assert "/ID" not in merged.trailer
    assert pages_text(a.path) == pages_text(one.path)


def test_highlighting_a_template_styles_is_kept(deck, tmp_path):
    """Code spans no stylesheet rule styles are dropped; a template that styles one keeps it."""
    templates = tmp_path / "templates"
    shutil.copytree(default_templates_dir() / "pdf", templates / "pdf")
    css = templates / "pdf" / "cards.css"
    css.write_text(css.read_text() + "\n.highlight .n { color: #ff0000; }\n")
    coded = [c for c in deck if c.code][:1]
    result = pdf.write_pdf(coded, tmp_path / "x.pdf", tf_version=TF, templates_dir=templates)
    with pdfplumber.open(result.path) as doc:
        colours = {tuple(ch["non_stroking_color"] or ()) for page in doc.pages for ch in page.chars}
    assert (1, 0, 0) in colours


# --- flashcards that read at arm's length --------------------------------------------------------

TODAY_MIN_PT = 0.7 * FLOOR_PT  # the smallest type before the sides grew: an "Output" label at the floor


def slot_chars(path: Path, page: int, rect) -> list[dict]:
    """The characters whose centre lies inside one card slot (mm) of one page, sizes in pt."""
    with pdfplumber.open(path) as doc:
        return [c for c in doc.pages[page].chars
                if rect.x <= (c["x0"] + c["x1"]) / 2 / PT_PER_MM <= rect.x + rect.w
                and rect.y <= (c["top"] + c["bottom"]) / 2 / PT_PER_MM <= rect.y + rect.h]


def body_chars(chars: list[dict], meta_pt: float) -> list[dict]:
    """A side's own text: without the id/topic strip and the "verified with" line (set at META_PT)."""
    return [c for c in chars if c["text"].strip() and abs(c["size"] - meta_pt) > 0.05]


def test_short_questions_are_large_and_centred_in_their_slot(built, deck):
    """On a deck of short questions every question is set at 14 pt or more, and its block (text and
    code) is centred in the slot, across and down, within 3 mm."""
    result = built("duplex")
    sheet = duplex_sheet("a4", "3x5")
    for n, card in enumerate(deck):
        rect = sheet.fronts[n % sheet.per_page]
        chars = body_chars(slot_chars(result.path, 2 * (n // sheet.per_page), rect), sheet.card.meta_pt)
        assert chars, card.id
        sans = [c["size"] for c in chars if "Mono" not in c["fontname"]]
        assert min(sans) >= 14, (card.id, min(sans))
        left, right = min(c["x0"] for c in chars) / PT_PER_MM, max(c["x1"] for c in chars) / PT_PER_MM
        top, bottom = min(c["top"] for c in chars) / PT_PER_MM, max(c["bottom"] for c in chars) / PT_PER_MM
        assert abs((left + right) / 2 - (rect.x + rect.w / 2)) < 3, (card.id, left, right, rect)
        assert abs((top + bottom) / 2 - (rect.y + rect.h / 2)) < 3, (card.id, top, bottom, rect)


def test_code_on_a_centred_front_is_left_aligned_and_not_wrapped(built, deck):
    result = built("duplex")
    sheet = duplex_sheet("a4", "3x5")
    n = next(i for i, c in enumerate(deck) if c.id == "k-dense")
    chars = slot_chars(result.path, 2 * (n // sheet.per_page), sheet.fronts[n % sheet.per_page])
    # the code's characters: DejaVu Sans Mono below the question (the question has inline code too)
    question_bottom = max(c["bottom"] for c in chars if "Mono" not in c["fontname"] and c["size"] > 10)
    code = [c for c in chars if "Mono" in c["fontname"] and c["top"] > question_bottom]
    lines = sorted({round(c["top"], 1) for c in code})
    assert len(lines) == len(deck[n].code.splitlines()) == 2  # one printed line per source line
    starts = [min(c["x0"] for c in code if round(c["top"], 1) == t) for t in lines]
    assert abs(starts[0] - starts[1]) < 0.5  # left-aligned inside the centred block


def test_long_cards_fit_their_slots_at_no_less_than_the_floor(tmp_path):
    """On a deck of long cards nothing leaves its slot's body, every card's text is printed whole
    in its slot, and no type is smaller than before the sides grew."""
    cards = load_cards([DATA / "dense.yaml", DATA / "long.yaml"])
    result = pdf.write_pdf(cards, tmp_path / "dense.pdf", tf_version=TF)
    assert result.overflowing == ("l-huge",)
    grid = [c for c in cards if c.id not in result.overflowing]
    sheet = duplex_sheet("a4", "3x5")
    meta = sheet.card.meta_pt
    sizes = []
    for n, card in enumerate(grid):
        for page, rect, want in ((2 * (n // sheet.per_page), sheet.fronts[n % sheet.per_page], side_texts(card)[0]),
                                 (2 * (n // sheet.per_page) + 1, sheet.backs[n % sheet.per_page], side_texts(card)[1])):
            chars = slot_chars(result.path, page, rect)
            text = squash("".join(c["text"] for c in chars))
            for w in want:
                assert squash(w) in text, (card.id, w)
            body = body_chars(chars, meta)
            # the side's body size: its most common size in DejaVu Sans (code and labels are smaller)
            sizes.append(Counter(round(c["size"], 1) for c in body if "Mono" not in c["fontname"]).most_common(1)[0][0])
            # inside the slot, clear of the id strip at the top and the status line at the bottom
            strip = meta * 1.25 / PT_PER_MM
            assert min(c["top"] for c in body) / PT_PER_MM >= rect.y + strip, card.id
            assert max(c["bottom"] for c in body) / PT_PER_MM <= rect.y + rect.h - strip, card.id
            assert all(rect.x <= c["x0"] / PT_PER_MM and c["x1"] / PT_PER_MM <= rect.x + rect.w for c in body)
    assert min(sizes) >= FLOOR_PT - 0.05
    assert min(sizes) < 10  # some side did have to be set smaller than before the sides grew
    with pdfplumber.open(result.path) as doc:
        smallest = min(c["size"] for page in doc.pages for c in page.chars if c["text"].strip())
    assert smallest >= TODAY_MIN_PT - 0.05


def test_id_strip_is_small_but_readable(built):
    result = built("duplex")
    with pdfplumber.open(result.path) as doc:
        words = doc.pages[0].extract_words(extra_attrs=["size"])
    ids = [w for w in words if w["text"] == "t-constant"]
    assert ids and all(6 <= w["size"] <= 7 for w in ids)


def footer_words(page) -> list[dict]:
    """The words of the page's footer line: the line that starts with "tfcards"."""
    words = page.extract_words(keep_blank_chars=False)
    start = next(w for w in words if w["text"] == "tfcards")
    return [w for w in words if abs(w["top"] - start["top"]) < 3]


@pytest.mark.parametrize("layout", ["duplex", "foldover"])
@pytest.mark.parametrize("card_size", list(CARD_SIZES))
@pytest.mark.parametrize("paper", pdf.PAPERS)
def test_footer_is_one_line_inside_the_printable_area(deck, tmp_path, paper, card_size, layout):
    """Every page's footer (the line a person checks the print scale against) is one whole line at
    least 5 mm from every edge of the paper, crossed by no cut mark or fold line."""
    cards = deck[:3] + [c for c in load_cards([DATA / "long.yaml"]) if c.id == "l-huge"]
    result = pdf.write_pdf(cards, tmp_path / "x.pdf", tf_version=TF, layout=layout, paper=paper,
                           card_size=card_size)
    assert result.overflowing == ("l-huge",)  # full-page cards have their own footer: checked too
    with pdfplumber.open(result.path) as doc:
        for n, page in enumerate(doc.pages):
            if not page.chars:
                continue  # the blank page before a full-page card's front (it starts on a right-hand page)
            words = footer_words(page)
            text = " ".join(w["text"] for w in words)
            assert "each card must measure" in text and re.search(r"(sheet|page) \d+", text), (n, text)
            tops = {round(w["top"], 1) for w in words}
            assert max(tops) - min(tops) < 0.5, (n, text)  # one line
            box = (min(w["x0"] for w in words), min(w["top"] for w in words),
                   max(w["x1"] for w in words), max(w["bottom"] for w in words))
            edge = 5 * PT_PER_MM
            assert box[0] >= edge and box[1] >= edge, (n, box)
            assert page.width - box[2] >= edge and page.height - box[3] >= edge, (n, box)
            for obj in page.rects + page.lines + page.curves:
                crosses = obj["x0"] < box[2] and obj["x1"] > box[0] and obj["top"] < box[3] and obj["bottom"] > box[1]
                assert not crosses, (n, obj["object_type"], obj["x0"], obj["top"])


def test_file_name_says_layout_paper_and_card_size():
    assert pdf.pdf_filename("tensorflow") == f"tensorflow-duplex-a4-{pdf.DEFAULT_CARD_SIZE}-flip-long.pdf"
    names = {pdf.pdf_filename("tensorflow", layout, paper, size, flip)
             for layout in ("duplex", "foldover") for paper in pdf.PAPERS for size in CARD_SIZES
             for flip in pdf.FLIPS}
    # no two builds overwrite each other: a duplex build names its flip edge (a fold-over has none)
    assert len(names) == (len(pdf.FLIPS) + 1) * len(pdf.PAPERS) * len(CARD_SIZES)
    assert pdf.pdf_filename("tensorflow", "foldover", "letter", "business") == "tensorflow-foldover-letter-business.pdf"
    assert pdf.pdf_filename("keras", "sheet", "letter", "4x6") == "keras-sheet-letter.pdf"  # no card size on a sheet


@pytest.mark.parametrize("layout", ["duplex", "sheet"])
def test_an_output_compared_with_a_tolerance_says_so_in_print(deck, tmp_path, layout):
    from dataclasses import replace

    card = next(c for c in deck if c.output is not None)
    cards = [replace(card, tolerance=1e-6)] + [c for c in deck if c.id != card.id][:3]
    path = pdf.write_pdf(cards, tmp_path / "t.pdf", tf_version=TF, layout=layout).path
    with pdfplumber.open(path) as doc:
        text = " ".join((page.extract_text() or "") for page in doc.pages)
    assert "output, numbers within 1e-06" in " ".join(text.split()).lower()  # the CSS sets labels in capitals
