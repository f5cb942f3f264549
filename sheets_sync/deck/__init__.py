"""The monthly review as a deck: ``sheets-sync deck --workbook W --out review.pptx|review.pdf`` (docs/deck.md).

:mod:`.model` reads what the workbook shows after a sync into a :class:`~.model.Deck`; :mod:`.render` draws it as
PowerPoint (python-pptx) or PDF (reportlab, with Noto Sans SC embedded by :mod:`.fonts`, so Chinese shows on any
machine). Both need the ``deck`` extra: ``pip install 'sheets-sync[deck]'``.
"""

from __future__ import annotations

from pathlib import Path

from ..sheets.base import Workbook
from .model import Deck, build_deck
from .render import write_deck


def make_deck(wb: Workbook, out: Path) -> Deck:
    """Read ``wb`` and write its deck to ``out`` (.pptx or .pdf); the deck's content is returned."""
    deck = build_deck(wb)
    write_deck(deck, out)
    return deck


__all__ = ["Deck", "build_deck", "make_deck", "write_deck"]
