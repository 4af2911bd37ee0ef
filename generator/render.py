"""The one Jinja environment and the Markdown/code filters shared by the Anki and PDF outputs.

Both outputs render the same card fields the same way (CommonMark via markdown-it, code via
Pygments), so a card reads alike on a phone and on paper.
"""
from __future__ import annotations

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

from .cards import CLOZE_RE, Card, Verdict
from .codebreaks import breakable



def default_templates_dir() -> Path:
    """The templates shipped with tfcards (the repository's `templates/`)."""
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


def markdown_html(text: str, image_src: Callable[[str], str] | None = None) -> str:
    """CommonMark to HTML; raw HTML in cards is escaped. IMAGE_SRC maps an image link to its URL."""
    md = _markdown()
    tokens = md.parse(text)
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
    return CLOZE_RE.sub(sub, text)


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """Jinja over the user's templates dir (default: the shipped one), strict about undefined names.
    A template the user's copy lacks (one added since it was copied, such as anki/footer.html)
    comes from the shipped set."""
    dirs = [str(templates_dir)] if templates_dir else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs + [str(default_templates_dir())]),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "htm", "xml", "j2"], default_for_string=False),
        keep_trailing_newline=True,
    )
    env.filters["markdown"] = _markdown_filter
    env.filters["highlight"] = lambda s, lang="python": Markup(highlight_code(s, lang))
    env.filters["cloze"] = cloze
    env.globals["pygments_css"] = pygments_css
    env.globals["output_label"] = output_label
    return env


def image_path(card: Card, target: str) -> Path:
    """The file a card's Markdown image link names: relative to its topic file. The loader has
    already refused URLs and missing files, so every renderer can take this as given."""
    return (card.file.parent / target).resolve()


def _markdown_filter(text: str, image_src: Callable[[str], str] | None = None) -> str:
    return Markup(markdown_html(text, image_src))


def output_label(card: Card) -> str:
    """`Output`, or with a tolerance `Output, numbers within 1e-06`: the text shown is then the
    author's, which TensorFlow's numbers match only that closely."""
    return "Output" if card.tolerance is None else f"Output, numbers within {card.tolerance:g}"


def status_line(card: Card, verdict: Verdict | None, tf_version: str) -> str:
    """The small provenance line on the answer side, with the versions the card holds for."""
    if card.skip is not None:
        return f"not verified: {card.skip}"
    if not card.holds_for(tf_version):
        return f"holds for TensorFlow {card.tensorflow}; not verified on {tf_version}"
    holds = f" · holds for TensorFlow {card.tensorflow}" if card.tensorflow else ""
    if card.code is None:
        return holds.lstrip(" ·")
    return f"verified with TensorFlow {tf_version}{holds}"
