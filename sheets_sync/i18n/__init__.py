"""Message catalogs for the generated tabs: one YAML file per language (``en``, ``zh``, ``es``).

Every sentence the review writes (Commentary findings and evidence, Target Suggestions bases, tab notes,
the definitions line) lives in these files, never in code. ``t(key, language, **fmt)`` looks a key up and
fills its ``{placeholders}`` with :meth:`str.format`; an unknown language falls back to English. The three
files carry the same keys and the same placeholders (tests/test_review_i18n.py checks it).

A placeholder may say ``{gap:abs}`` to show a signed amount without its sign ("落后进度 4,012 USD", not a double
negative). Canonical words filled into a zh / es sentence (a role, the roles that control a KPI, ``ALL``) are
shown in that language (sheets_sync/i18n/labels_*.yaml), and in Chinese the space the templates leave around a
placeholder is dropped between two Chinese characters.
"""

from __future__ import annotations

import re
import string
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("en", "zh", "es")
DEFAULT = "en"
# The files the package ships are read with libyaml's parser when PyYAML has it (about 15× faster: 0.2 s of a
# sync's start-up otherwise); a file a person writes (service.yaml) keeps the pure-Python loader's messages.
_BUNDLED_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def bundled_yaml(package: str, name: str) -> Any:
    """A YAML file shipped inside ``package`` (a catalog, a template tab), parsed."""
    return yaml.load(resources.files(package).joinpath(name).read_text(encoding="utf-8"), Loader=_BUNDLED_LOADER)


@cache
def catalog(language: str) -> dict[str, str]:
    """The whole catalog of one language (key → template)."""
    lang = language if language in LANGUAGES else DEFAULT
    raw = bundled_yaml(__name__, f"{lang}.yaml")
    if not isinstance(raw, dict):
        raise ValueError(f"sheets_sync/i18n/{lang}.yaml: expected a mapping of key → text")
    return {str(k): str(v) for k, v in raw.items()}


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a template."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "abs":
            return str(value).lstrip("+-−")
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()
WORD_PLACEHOLDERS = ("role", "controls", "mk", "status")      # filled with canonical words: shown in the language
LINE_PLACEHOLDERS = ("note",)     # filled with a canonical line (an Attainment note): shown in the language
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uff08\uff09\uff1a\uff1b\uff0c\u3001])[ ]+(?=[\u3400-\u9fff\uff08\uff09\uff1a\uff1b\uff0c\u3001])")


def t(key: str, language: str, **fmt: Any) -> str:
    """The text of ``key`` in ``language`` with its placeholders filled. A missing key raises KeyError."""
    template = catalog(language)[key]
    if language in ("zh", "es"):
        from ..localize import translator

        tr = translator(language)
        for name in WORD_PLACEHOLDERS:
            if isinstance(fmt.get(name), str):
                words = fmt[name].split(", ")
                fmt[name] = ("、" if language == "zh" else ", ").join(tr.value(w) for w in words)
        for name in LINE_PLACEHOLDERS:
            if isinstance(fmt.get(name), str):
                fmt[name] = tr.line(fmt[name])
    # str.format where no placeholder uses our own ":abs" spec (the common case, and much faster)
    text = _FORMATTER.format(template, **fmt) if ":abs}" in template else template.format(**fmt)
    return _CJK_SPACE.sub("", text) if language == "zh" else text


__all__ = ["DEFAULT", "LANGUAGES", "catalog", "placeholders", "t"]
