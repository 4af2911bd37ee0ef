"""Lean highlighted code: Pygments' HTML with the spans no stylesheet rule styles dropped.

Pygments wraps every token in a span, styled or not: `tf.constant([1, 2])` is eleven spans.
Each is a box WeasyPrint styles, breaks lines through and paints. Spans whose class no rule
styles are dropped (their text stays), neighbours of one class are merged, and the Pygments
stylesheet keeps only the rules of classes the deck uses. What is printed does not change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from markupsafe import Markup

_SPAN_RE = re.compile(r'<span class="([\w-]+)">([^<]*)</span>')
_PYGMENTS_RULE_RE = re.compile(r"^\.highlight \.([\w-]+) \{([^}]*)\}")
_CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)
_SAME_SPANS_RE = re.compile(r'<span class="([\w-]+)">([^<]*)</span><span class="\1">')


@dataclass(frozen=True)
class CodeStyle:
    pygments_rules: dict[str, str]   # token class -> its declarations in the Pygments stylesheet
    styled_elsewhere: frozenset[str]  # classes the template's own CSS mentions
    keep_all: bool                   # the template's CSS styles spans in general: change nothing

    @classmethod
    def of(cls, pygments_css: str, template_css: str) -> "CodeStyle":
        rules = {}
        for line in pygments_css.splitlines():
            m = _PYGMENTS_RULE_RE.match(line)
            if m:
                rules[m.group(1)] = m.group(2)
        css = _CSS_COMMENT_RE.sub("", template_css)
        keep_all = bool(re.search(r"\bspan\b(?!\.linenos)|\[|\*", css))
        return cls(rules, frozenset(re.findall(r"\.(-?[_a-zA-Z][\w-]*)", css)), keep_all)

    def inert(self, cls: str, text: str) -> bool:
        """A span of class CLS around TEXT looks the same without its span."""
        if cls in self.styled_elsewhere:
            return False
        rule = self.pygments_rules.get(cls)
        if rule is None:
            return True
        # whitespace shows no colour
        return not text.strip() and all(d.split(":")[0].strip() == "color" for d in rule.split(";") if d.strip())

    def lean(self, html: Markup | None) -> Markup | None:
        if html is None or self.keep_all or "<span" not in html:
            return html
        out = _SPAN_RE.sub(lambda m: m.group(2) if self.inert(m.group(1), m.group(2)) else m.group(0), str(html))
        while True:
            out, n = _SAME_SPANS_RE.subn(r'<span class="\1">\2', out)
            if not n:
                return Markup(out)

    def used_css(self, pygments_css: str, html: Iterable[str]) -> str:
        """The Pygments stylesheet without the rules of token classes that appear nowhere in HTML."""
        used = {m.group(1) for h in html for m in _SPAN_RE.finditer(h)}
        return "\n".join(line for line in pygments_css.splitlines()
                         if not (m := _PYGMENTS_RULE_RE.match(line)) or m.group(1) in used)


def style_text(html: str) -> str:
    """The CSS of a rendered template: what decides which spans are styled."""
    return "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
