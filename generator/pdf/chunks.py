"""Chunked parallel layout: the deck's pages as separate WeasyPrint documents, laid out in worker
processes, each written as a PDF of its own and merged in order with pypdf.

WeasyPrint's laid-out pages cannot be pickled, so a chunk laid out in a worker process comes back
as what the parent needs of it: its sides' measurements and its pages written as a PDF of their
own. With one job the chunks are laid out in this process, and written and merged the same way,
so the bytes do not depend on the number of jobs.
"""
from __future__ import annotations

import contextlib
import gc
import io
import multiprocessing
import os
from typing import Callable, Iterator, NamedTuple

from .fetch import DeckFetcher
from .fit import measure

# Grid pages per WeasyPrint document. The deck is laid out in chunks whose pages are then written
# as one PDF: a side that has to shrink costs a new layout of its chunk, not of the whole deck.
# Even, so that every chunk starts on a right-hand page, as it does in the whole deck.
CHUNK_PAGES = 100


class Chunk(NamedTuple):
    pages: int
    measured: dict[str, tuple[float, float]]  # side key -> (content height, room), see fit.measure
    pdf: bytes                                # its pages as a PDF of their own


def chunk_pages(pages: int) -> int:
    """Pages per chunk: at most CHUNK_PAGES, in an even number of chunks of about the same size,
    so that two processes finish together; the same for any number of jobs, so that the same
    deck always gives the same bytes. Even, so that every chunk starts on a right-hand page."""
    n = -(-max(pages, 1) // CHUNK_PAGES)
    size = -(-max(pages, 1) // (n + n % 2))
    return max(2, size + size % 2)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while WeasyPrint builds and paints the document.

    A laid-out deck is about a million tracked objects (styles, boxes), all alive until the
    PDF is written, and the collector's full passes rescan all of them each time the heap
    grows by a quarter: about a third of the run time. Nothing is leaked: the document's
    cycles are collected as usual once the collector is back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def fixed_font_timestamps() -> Iterator[None]:
    """Reproducible font subsets: fontTools stamps each subset's `head.modified` with the time
    of writing unless SOURCE_DATE_EPOCH is set (WeasyPrint subsets with fontTools when
    HarfBuzz-Subset is missing). A SOURCE_DATE_EPOCH the user set is kept."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


_shared: tuple = ()  # (FontConfiguration, image cache, fetcher) for the chunks laid out in this process


@contextlib.contextmanager
def chunk_layouts(jobs: int, fetcher: DeckFetcher) -> Iterator[Callable[[list[str]], list[Chunk]]]:
    """A function laying out chunk HTMLs, results in order: in JOBS worker processes, or with 1
    in this process. Workers are forked, so they start with WeasyPrint imported and the fonts
    configured, and one per chunk (maxtasksperchild=1): exiting frees a chunk's million boxes at
    no cost, where a garbage collection (paused, see gc_paused) took 0.2-0.6 s per chunk. FETCHER
    is all a layout may load (fetch.py)."""
    global _shared
    from weasyprint.text.fonts import FontConfiguration
    _shared = (FontConfiguration(), {}, fetcher)  # fonts load and images parse once per process
    try:
        if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield lambda htmls: [_lay_out_chunk(html) for html in htmls]
        else:
            with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=1) as pool:
                yield lambda htmls: _gather(pool.map_async(_lay_out_chunk, htmls, chunksize=1), len(htmls))
    finally:
        _shared = ()


def _gather(result, chunks: int) -> list[Chunk]:
    """The pool's results. A worker killed outright (out of memory) loses its task and the pool
    would wait forever: a chunk takes about a second, so minutes mean it is gone."""
    try:
        return result.get(timeout=120 + 60 * chunks)
    except multiprocessing.TimeoutError:
        raise RuntimeError("a PDF layout worker died (out of memory?); try --jobs 1") from None


def _lay_out_chunk(html: str) -> Chunk:
    fonts, images, fetcher = _shared
    document = fetcher.render(html, font_config=fonts, cache=images)
    with fixed_font_timestamps():
        # custom_metadata: paper and card size go into the PDF's info dictionary too
        return Chunk(len(document.pages), measure(document), pdf=document.write_pdf(custom_metadata=True))


def merge(chunks: list[Chunk]) -> bytes:
    """The chunks' pages as one PDF, in order.

    Merged with pypdf, the first chunk's PDF brings the document's catalog (language) and info
    dictionary (title, description, the custom metadata); pypdf adds no /ID and no dates of its
    own, so the same chunks always give the same bytes. Each chunk keeps its own font subsets:
    the file is about 15 % larger than one document's (docs/pdf.md)."""
    if len(chunks) == 1:
        return chunks[0].pdf
    import pypdf
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(chunks[0].pdf))
    for chunk in chunks[1:]:
        for page in pypdf.PdfReader(io.BytesIO(chunk.pdf)).pages:
            writer.add_page(page)
    writer.compress_identical_objects()  # objects every chunk repeats: about -10 % in size
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
