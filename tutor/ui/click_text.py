"""click's own words (usage, section titles, help option, errors) through our catalog.

typer's copy of click writes its texts as plain English f-strings, with no
gettext hook to plug a catalog into. So its two outputs are translated where
they leave: the help page (``Context.get_help``) and the message of a usage
error (``cli.main`` prints it). The English originals are the catalog's keys:
a click upgrade that rewords one leaves that text in English, never wrong.
Stdlib and typer only: ``--help`` must stay fast.
"""

from __future__ import annotations

import re
from typing import Any

from tutor.i18n import Message

__all__ = ["install", "translate_help", "translate_error"]

# Whole lines or line starts of the help page.
_HELP: list[tuple[re.Pattern[str], Message]] = [
    (re.compile(r"^Usage: ", re.M), Message("Usage: ", "用法：")),
    (re.compile(r"^Options:$", re.M), Message("Options:", "选项：")),
    (re.compile(r"^Arguments:$", re.M), Message("Arguments:", "参数：")),
    (re.compile(r"^Commands:$", re.M), Message("Commands:", "命令：")),
    (re.compile(r"Show this message and exit\."), Message("Show this message and exit.", "显示此帮助并退出。")),
    (re.compile(r"\[default: (?P<value>[^\]]*)\]"), Message("[default: {value}]", "（默认：{value}）")),
    (re.compile(r"\[required\]"), Message("[required]", "（必需）")),
    (re.compile(r"\[OPTIONS\]"), Message("[OPTIONS]", "[选项]")),
    (re.compile(r"COMMAND \[ARGS\]\.\.\."), Message("COMMAND [ARGS]...", "命令 [参数]...")),
]

# Usage errors, as click words them.
_ERRORS: list[tuple[re.Pattern[str], Message]] = [
    (re.compile(r"^Missing argument '(?P<name>[^']*)'\.$"), Message("Missing argument '{name}'.", "缺少参数 '{name}'。")),
    (re.compile(r"^Missing option '(?P<name>[^']*)'\.$"), Message("Missing option '{name}'.", "缺少选项 '{name}'。")),
    (re.compile(r"^Missing parameter: (?P<name>.*)$"), Message("Missing parameter: {name}", "缺少参数：{name}")),
    (re.compile(r"^No such option: (?P<name>\S+)$"), Message("No such option: {name}", "没有这个选项：{name}")),
    (re.compile(r"^No such option: (?P<name>\S+) Did you mean (?P<hint>.*)\?$"),
     Message("No such option: {name} Did you mean {hint}?", "没有这个选项：{name}。你是不是想用 {hint}？")),
    (re.compile(r"^No such command '(?P<name>[^']*)'\.$"), Message("No such command '{name}'.", "没有这个命令：'{name}'。")),
    (re.compile(r"^Got unexpected extra argument\(s\) \((?P<args>.*)\)$"),
     Message("Got unexpected extra argument(s) ({args})", "多出了参数（{args}）")),
    (re.compile(r"^Invalid value for (?P<name>'[^']*'): Value error, (?P<value>'[^']*') is not one of (?P<choices>.*)\.$"),
     Message("Invalid value for {name}: {value} is not one of {choices}.", "{name} 的值无效：{value} 不是 {choices} 之一。")),
    (re.compile(r"^Invalid value for (?P<name>'[^']*'): (?P<why>.*)$"),
     Message("Invalid value for {name}: {why}", "{name} 的值无效：{why}")),
    (re.compile(r"^Option '(?P<name>[^']*)' requires an argument\.$"),
     Message("Option '{name}' requires an argument.", "选项 '{name}' 需要一个值。")),
    (re.compile(r"^Missing command\.$"), Message("Missing command.", "缺少命令。")),
]


def translate_help(text: str, lang: str) -> str:
    if lang == "en":
        return text
    for pattern, message in _HELP:
        text = pattern.sub(lambda m, message=message: message(lang, **m.groupdict()), text)
    return text


def translate_error(text: str, lang: str) -> str:
    if lang == "en":
        return text
    for pattern, message in _ERRORS:
        match = pattern.match(text)
        if match:
            return message(lang, **match.groupdict())
    return text


def install(lang: str, context_class: Any) -> None:
    """Translate every help page click builds from now on (``context_class``: click's ``Context``)."""
    if lang == "en" or getattr(context_class, "_tutor_lang", None) == lang:
        return
    english = getattr(context_class, "_tutor_english_get_help", context_class.get_help)

    def get_help(self: Any) -> str:
        return translate_help(english(self), lang)

    context_class._tutor_english_get_help = english
    context_class.get_help = get_help
    context_class._tutor_lang = lang
