"""What WeasyPrint may load while it lays out a deck: the deck's accepted images, the files of the
templates directory and `data:` URLs, nothing else (no network, no other file).

WeasyPrint fetches whatever a document names (`<img src>`, CSS `url()`, `@import`, an SVG's
links), so the fetcher is where "only declared files reach the PDF" holds (docs/security.md,
section 4). A refused URL stops the layout and becomes one error line naming it.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from .. import images
from ..errors import CardError


class Refused(OSError):
    """A URL the PDF may not load."""


class DeckFetcher(URLFetcher):
    """Serves FILES (the deck's accepted images, checked again as they are read), any file inside
    TEMPLATES_DIR, and `data:` URLs; refuses every other URL and stops the layout."""

    def __init__(self, files: Iterable[Path], templates_dir: Path) -> None:
        super().__init__(fail_on_errors=True, allowed_protocols=("file", "data"))
        self.files = frozenset(Path(f).resolve() for f in files)
        self.templates_dir = Path(templates_dir).resolve()
        self.refused: str | None = None

    @property
    def base_url(self) -> str:
        """Relative URLs in the PDF templates name the templates' own files."""
        return (self.templates_dir / "pdf").as_uri() + "/"

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        self.refused = url  # until it is served
        scheme = url.partition(":")[0].lower()
        path = _file_path(url) if scheme == "file" else None
        if scheme == "data":
            response = super().fetch(url, headers)
        elif path is not None and path in self.files:
            data, kind = images.read(path)
            response = URLFetcherResponse(url, data, {"Content-Type": kind.mime})
        elif path is not None and self.templates_dir in path.parents and path.is_file():
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            response = URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
        else:
            raise Refused(url)
        self.refused = None
        return response

    def render(self, html: str, **options):
        """HTML laid out by WeasyPrint with this fetcher; a refused URL is a CardError naming it."""
        try:
            return HTML(string=html, base_url=self.base_url, url_fetcher=self).render(**options)
        except FatalURLFetchingError as e:  # a BaseException: keep it out of worker processes
            url, cause = _short(self.refused or "?"), e.__cause__
            if isinstance(cause, Refused):
                raise CardError(f"the PDF names {url}, which tfcards does not load: a PDF may use only the "
                                f"deck's accepted images and the files of the templates directory "
                                f"{self.templates_dir} (see docs/security.md)") from None
            raise CardError(f"the PDF could not load {url}: {cause}") from None


def _file_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parts.path)).resolve()


def _short(url: str, limit: int = 200) -> str:
    return repr(url if len(url) <= limit else url[:limit] + "...")
