"""Text that reads well in Chinese too: Markdown soft breaks and line wrapping.

Two habits of Western typesetting are wrong for CJK text:

- a line break inside a Markdown paragraph (a soft break) becomes a space,
  which in Chinese shows as a stray gap mid-sentence: between two CJK
  characters it must join without one;
- lines wrap only at spaces, so a run of Chinese (which has none) moves to
  the next line whole, leaving an early, ragged break: every CJK character is
  a place to break, except before closing punctuation (，。、；：！？）」 …).

:func:`markdown` builds rich's ``Markdown`` with the first fixed;
:func:`install_cjk_wrapping` teaches rich's wrapper the second, once, for
every text the UI prints.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from rich.markdown import Markdown

__all__ = ["markdown", "install_cjk_wrapping", "is_cjk", "colon", "join_words"]

# CJK ideographs, kana, hangul and the full-width forms and punctuation.
_CJK = (
    "\u2e80-\u2eff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31c0-\u31ef"
    "\u3200-\u32ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
# Never at the start of a line (kinsoku): closing punctuation stays with what it closes.
_CLOSING = "，。、；：！？）」』】》〉…％·,.;:!?)\\]}"


@functools.cache
def _cjk_char() -> re.Pattern[str]:
    """Compiled on first use, like ``_word``: their ranges take ~10 ms to compile, and
    ``tutor list``, which imports this module, needs neither."""
    return re.compile(f"[{_CJK}]")


@functools.cache
def _word() -> re.Pattern[str]:
    """A "word" for the wrapper: one CJK character with any closing punctuation after
    it, or a run of anything else up to a space or a CJK character; with the
    spaces after it, as rich's own pattern has them."""
    return re.compile(rf"\s*(?:[{_CJK}][{re.escape(_CLOSING)}]*|[^\s{_CJK}]+[{re.escape(_CLOSING)}]*)\s*")


def colon(lang: str) -> str:
    """A label's colon: full-width in Chinese (no space after it), ``": "`` elsewhere."""
    return "：" if lang == "zh" else ": "


def join_words(items: Iterable[str], lang: str) -> str:
    """A list in running text: ``a, b, c``; in Chinese with the enumeration comma, ``a、b、c``."""
    return ("、" if lang == "zh" else ", ").join(items)


def is_cjk(char: str) -> bool:
    return bool(char) and _cjk_char().fullmatch(char) is not None


def markdown(text: str, **options: Any) -> Markdown:
    """rich ``Markdown`` for ``text``, with soft breaks between two CJK characters joined."""
    from rich.markdown import Markdown  # markdown-it is not for `tutor list`, which shares this module

    rendered = Markdown(text, **options)
    for token in rendered.parsed:
        children = token.children or []
        keep = []
        for i, child in enumerate(children):
            if child.type == "softbreak" and 0 < i < len(children) - 1:
                before, after = children[i - 1], children[i + 1]
                if (before.type == "text" and after.type == "text" and before.content and after.content
                        and is_cjk(before.content[-1]) and is_cjk(after.content[0])):
                    continue
            keep.append(child)
        if children:
            token.children = keep
    return rendered


_installed = False


def install_cjk_wrapping() -> None:
    """Let rich break lines between CJK characters (its wrapper reads this pattern at each call)."""
    global _installed
    if _installed:
        return
    from rich import _wrap

    _wrap.re_word = _word()
    _installed = True
