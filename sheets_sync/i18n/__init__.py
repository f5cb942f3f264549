"""Message catalogs for the generated tabs: one YAML file per language (``en``, ``zh``, ``es``).

Every sentence the review writes (Commentary findings and evidence, Target Suggestions bases, tab notes,
the definitions line) lives in these files, never in code. ``t(key, language, **fmt)`` looks a key up and
fills its ``{placeholders}`` with :meth:`str.format`; an unknown language falls back to English. The three
files carry the same keys and the same placeholders (tests/test_review_i18n.py checks it).
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("en", "zh", "es")
DEFAULT = "en"


@cache
def catalog(language: str) -> dict[str, str]:
    """The whole catalog of one language (key → template)."""
    lang = language if language in LANGUAGES else DEFAULT
    raw = yaml.safe_load(resources.files(__name__).joinpath(f"{lang}.yaml").read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"sheets_sync/i18n/{lang}.yaml: expected a mapping of key → text")
    return {str(k): str(v) for k, v in raw.items()}


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a template."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def t(key: str, language: str, **fmt: Any) -> str:
    """The text of ``key`` in ``language`` with its placeholders filled. A missing key raises KeyError."""
    return catalog(language)[key].format(**fmt)


__all__ = ["DEFAULT", "LANGUAGES", "catalog", "placeholders", "t"]
