"""The one Jinja environment and the Markdown/code filters shared by the Anki and PDF outputs.

Both outputs render the same card fields the same way (CommonMark via markdown-it, code via
Pygments), so a card reads alike on a phone and on paper.
"""
from __future__ import annotations

import importlib.resources
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable

import jinja2
from markupsafe import Markup
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from .cards import Card, Verdict, sub_clozes
from .codebreaks import breakable
from .plural import counted



def default_templates_dir() -> Path:
    """The templates shipped with tfcards: the package's `generator/templates/` when installed
    (setup.cfg maps the repository's top-level `templates/` there at build time), else, in a
    source checkout or an editable install, that `templates/` folder itself."""
    shipped = importlib.resources.files("generator") / "templates"
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=None)
def _formatter() -> HtmlFormatter:
    return HtmlFormatter(nowrap=True)  # building one compiles its style sheet: 0.3 ms a card


def highlight_code(code: str, language: str = "python") -> str:
    """Code as `<pre class="highlight"><code>` with Pygments token classes (CSS: `pygments_css`)."""
    try:
        lexer = PythonLexer() if language in ("", "python", "py") else get_lexer_by_name(language)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    body = highlight(code, lexer, _formatter())
    return f'<pre class="highlight"><code>{body}</code></pre>'



def pygments_css(style: str = "default", scope: "str | list[str]" = ".highlight") -> str:
    """The stylesheet for highlighted code, scoped so a template can hold a light and a dark one."""
    return HtmlFormatter(style=style).get_style_defs(scope)


@lru_cache(maxsize=None)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "highlight": _fence}).enable("table").enable("strikethrough")
    # inline code breaks only between tokens (`<wbr>`), on a phone as on paper
    md.add_render_rule("code_inline", lambda self, tokens, idx, options, env:
                       f"<code>{breakable(tokens[idx].content)}</code>")
    return md


def _fence(code: str, lang: str, _attrs: str) -> str:
    return highlight_code(code, lang or "python")


def parse_markdown(text: str) -> list:
    """TEXT's markdown-it tokens: what the renderer draws and the loader checks are one parse."""
    return _markdown().parse(text)


def markdown_html(text: str, image_src: Callable[[str], str] | None = None) -> str:
    """CommonMark to HTML; raw HTML in cards is escaped. IMAGE_SRC maps an image link to its URL."""
    md = _markdown()
    tokens = parse_markdown(text)
    if image_src is not None:
        for token in tokens:
            for child in token.children or ():
                if child.type == "image":
                    child.attrSet("src", image_src(child.attrGet("src") or ""))
    return md.renderer.render(tokens, md.options, {})


def markdown_inline(text: str, image_src: Callable[[str], str] | None = None) -> str:
    """Markdown of a one-paragraph field without the wrapping `<p>`, for compact layouts."""
    out = markdown_html(text, image_src).strip()
    if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
        out = out[3:-4]
    return out


def cloze(text: str, reveal: bool) -> str:
    """Anki's cloze deletions for paper: `[...]` (or the hint) on the front, the text on the back."""
    def sub(m: re.Match) -> str:
        answer, hint = m.group(2), m.group(3)
        if reveal:
            return f"**{answer}**" if "`" not in answer and "*" not in answer else answer
        return f"[{hint}]" if hint else "[...]"
    return sub_clozes(sub, text)


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """Jinja over the user's templates dir, strict about undefined names. Each template the user's
    dir lacks comes from the shipped one, so one file can be overridden alone."""
    loader: jinja2.BaseLoader = jinja2.FileSystemLoader(str(default_templates_dir()))
    if templates_dir is not None:
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(templates_dir)), loader])
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "htm", "xml", "j2"], default_for_string=False),
        keep_trailing_newline=True,
    )
    env.filters["markdown"] = _markdown_filter
    env.filters["highlight"] = lambda s, lang="python": Markup(highlight_code(s, lang))
    env.filters["cloze"] = cloze
    env.filters["counted"] = counted  # {{ n | counted("card") }}: "1 card", "2 cards"
    env.globals["pygments_css"] = pygments_css
    env.globals["output_label"] = output_label
    return env


def image_path(card: Card, target: str) -> Path:
    """The file a card's Markdown image link names, resolved as the loader resolved it: only an
    image the loader accepted (in `card.images`) is ever rendered."""
    from .images import unlinked
    path = (card.file.parent / unlinked(target)).resolve()
    if path not in card.images:  # the loader checks every link the renderer sees
        raise RuntimeError(f"card '{card.id}': image {target!r} was not accepted when the card was loaded")
    return path


def _markdown_filter(text: str, image_src: Callable[[str], str] | None = None) -> str:
    return Markup(markdown_html(text, image_src))


def output_label(card: Card) -> str:
    """`Output`, or with a tolerance `Output, numbers within 1e-06`: the text shown is then the
    author's, which TensorFlow's numbers match only that closely."""
    return "Output" if card.tolerance is None else f"Output, numbers within {card.tolerance:g}"


def status_line(card: Card, verdict: Verdict | None, tf_version: str) -> str:
    """The small provenance line on the answer side: the releases the card was proven on (the
    stored matrix result beside the cards, generator/proven.py) or else the version it was just
    verified with, and the versions it holds for."""
    from .proven import proven_on

    if card.skip is not None:
        return f"not verified: {card.skip}"
    holds = f"holds for {card.ranges}" if card.ranges else ""
    proven = proven_on(card) if card.code is not None else None
    if proven:  # the matrix's word, whichever TensorFlow this build has
        return " · ".join(p for p in (f"proven on TensorFlow {proven}", holds) if p)
    if not card.holds_for(tf_version):
        return f"{holds}; not verified on {tf_version}"
    if card.code is None:
        return holds
    return " · ".join(p for p in (f"verified with TensorFlow {tf_version}", holds) if p)
