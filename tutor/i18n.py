"""The learner's language, and messages that exist in every language we speak.

A ``Message`` cannot be built without both English and Chinese, so a string
the UI prints can't be missing a translation: the type enforces it. Messages
live beside the code that prints them. A message naming a command (`` `tutor
start` ``) names the one that works here (:mod:`tutor.invocation`).
"""

from __future__ import annotations

import locale
import os
from dataclasses import dataclass
from typing import Any

from tutor.invocation import with_command

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Message:
    en: str
    zh: str

    def __call__(self, lang: str, /, **values: Any) -> str:
        text = with_command(self.zh if lang == "zh" else self.en)
        return text.format(**values) if values else text


def pick(text: str | dict[str, str], lang: str) -> str:
    """A lesson text in ``lang``, else English, else any language present (the format's rule)."""
    if isinstance(text, str):
        return text
    for key in (lang, lang.split("-")[0].split("_")[0], "en"):
        if key in text:
            return text[key]
    return next(iter(text.values()), "")


def resolve_lang(explicit: str | None = None) -> str:
    """``--lang``, else ``TUTOR_LANG``, else the locale; anything unknown falls back to English."""
    for candidate in (explicit, os.environ.get("TUTOR_LANG"), _locale_lang()):
        if candidate:
            code = candidate.lower().replace("-", "_").split("_")[0].split(".")[0]
            if code in LANGUAGES:
                return code
    return "en"


def _locale_lang() -> str | None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return locale.getlocale()[0]
    except ValueError:
        return None
