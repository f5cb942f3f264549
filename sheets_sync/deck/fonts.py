"""A font for the PDF that shows Chinese, Spanish and English on any machine: Noto Sans SC (SIL Open Font License),
shipped on PyPI by the ``pylopdf-fonts-zh-cn`` package (the ``deck`` extra), embedded in every PDF.

Noto Sans SC is an OpenType font with PostScript (CFF) outlines, which reportlab cannot embed; so, per deck, the font
is cut down with fontTools to the characters the deck shows (plus printable ASCII) and its outlines are converted to
TrueType quadratic curves (fontTools' cu2qu, within 1 font unit). That takes about half a second and embeds some
20–60 KB, and PDF readers and text extractors (poppler, pdfminer, pypdf) all read the result.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from importlib import resources

FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_FILE = "NotoSansSC-Regular.otf"
EXTRA = "•…—·›%"     # what the renderers add around the deck's own texts (bullets, ellipses)


class FontMissing(RuntimeError):
    """The deck extra is not installed."""


def font_path() -> str:
    try:
        path = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
    except ModuleNotFoundError:
        raise FontMissing("the PDF deck needs its font: pip install 'sheets-sync[deck]'") from None
    if not path.is_file():
        raise FontMissing(f"{FONT_PACKAGE} has no {FONT_FILE}: pip install --force-reinstall 'sheets-sync[deck]'")
    return str(path)


def subset_ttf(texts: Iterable[str]) -> bytes:
    """A TrueType font holding the glyphs of ``texts`` (and printable ASCII)."""
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    chars = {c for t in texts for c in t if c.isprintable()} | {chr(c) for c in range(32, 127)} | set(EXTRA)
    font = TTFont(font_path())
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    sub = subset.Subsetter(options)
    sub.populate(text="".join(sorted(chars)))
    sub.subset(font)
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours", "maxTwilightPoints",
                 "maxStorage", "maxFunctionDefs", "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                 "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones, maxp.numGlyphs = 1, len(order)
    font["maxp"] = maxp
    font["head"].indexToLocFormat, font["head"].glyphDataFormat = 0, 0
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
    out = io.BytesIO()
    font.save(out)      # recalculates the maxp counts and the bounding boxes
    return out.getvalue()
