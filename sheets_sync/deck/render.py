"""The deck as PowerPoint (python-pptx) and as PDF (reportlab, with the embedded font of :mod:`.fonts`).

Both draw the same :class:`~.model.Deck`, slide for slide: title (period and data definitions), scorecard with its
chart, one slide per owner, the top findings, next period's suggested targets. Slides are 16:9.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from .model import Deck, Table

BULLET = "• "

SEVERITY_RGB = {"high": (0xC0, 0x00, 0x00), "medium": (0xB2, 0x6B, 0x00), "info": (0x40, 0x40, 0x40)}
EAST_ASIAN_FONT = "Microsoft YaHei"        # PowerPoint's Chinese face on Windows; Mac and LibreOffice substitute
LATIN_FONT = "Calibri"


# -- PowerPoint -----------------------------------------------------------------------------------------------------
def write_pptx(deck: Deck, out: Path) -> None:
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
    from pptx.util import Emu, Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    blank = prs.slide_layouts[6]

    def fonts(run: Any, size: float, bold: bool = False, rgb: tuple[int, int, int] | None = None) -> None:
        run.font.size, run.font.bold, run.font.name = Pt(size), bold, LATIN_FONT
        if rgb:
            run.font.color.rgb = RGBColor(*rgb)
        rpr = run._r.get_or_add_rPr()
        ea = rpr.find("{http://schemas.openxmlformats.org/drawingml/2006/main}ea")
        if ea is None:
            ea = rpr.makeelement("{http://schemas.openxmlformats.org/drawingml/2006/main}ea", {})
            rpr.append(ea)
        ea.set("typeface", EAST_ASIAN_FONT)

    def text(slide: Any, lines: list[str], x: float, y: float, w: float, h: float, size: float = 16,
             bold: bool = False, colours: list[tuple[int, int, int] | None] | None = None) -> None:
        box = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        frame = box.text_frame
        frame.word_wrap = True
        for i, line in enumerate(lines):
            para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            run = para.add_run()
            run.text = line
            fonts(run, size, bold, (colours or [None] * len(lines))[i])

    def table(slide: Any, t: Table, y: float, note: str | None = None) -> None:
        if not t.rows:
            text(slide, [note or "—"], 0.6, y, 12, 0.6, 14)
            return
        rows, cols = len(t.rows) + 1, len(t.header)
        height = min(5.6, 0.38 * rows)
        shape = slide.shapes.add_table(rows, cols, Inches(0.6), Inches(y), Inches(12.1), Inches(height)).table
        for j, h in enumerate(t.header):
            cell = shape.cell(0, j)
            cell.text = ""
            fonts(cell.text_frame.paragraphs[0].add_run(), 12, True)
            cell.text_frame.paragraphs[0].runs[0].text = h
        for i, r in enumerate(t.rows, start=1):
            for j, v in enumerate(r):
                cell = shape.cell(i, j)
                cell.text = ""
                run = cell.text_frame.paragraphs[0].add_run()
                run.text = v
                fonts(run, 11)
        if t.more:
            text(slide, [note or f"+{t.more}"], 0.6, y + height + 0.1, 12, 0.4, 11)

    s = prs.slides.add_slide(blank)
    text(s, [deck.title], 0.6, 1.6, 12, 1.2, 40, True)
    text(s, [deck.subtitle], 0.6, 2.9, 12, 0.6, 20)
    text(s, [deck.labels["definitions"], deck.definitions], 0.6, 4.0, 12, 2.5, 13)

    s = prs.slides.add_slide(blank)
    text(s, [deck.labels["scorecard"]], 0.6, 0.3, 12, 0.7, 28, True)
    table(s, deck.scorecard, 1.1)
    if deck.chart:
        data = CategoryChartData()
        data.categories = [name for name, _, _ in deck.chart]
        data.add_series(deck.labels["score"], [v for _, v, _ in deck.chart])
        data.add_series(deck.labels["projected"], [v for _, _, v in deck.chart])
        top = 1.3 + min(5.6, 0.38 * (len(deck.scorecard.rows) + 1))
        frame = s.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(0.6), Inches(top), Inches(12.1),
                                   Emu(max(Inches(1.8), Inches(7.2) - Inches(top))), data)
        chart = frame.chart
        chart.has_title, chart.has_legend = True, True
        chart.chart_title.text_frame.text = deck.chart_title
        chart.legend.position, chart.legend.include_in_layout = XL_LEGEND_POSITION.BOTTOM, False
        chart.value_axis.tick_labels.number_format, chart.value_axis.tick_labels.number_format_is_linked = "0%", False

    for o in deck.owners:
        s = prs.slides.add_slide(blank)
        text(s, [o.title], 0.6, 0.3, 12, 0.7, 28, True)
        text(s, [o.summary], 0.6, 1.0, 12, 0.5, 16)
        table(s, o.table, 1.6)
        if o.why:
            y = 1.8 + min(5.6, 0.38 * (len(o.table.rows) + 1))
            text(s, [deck.labels["why"], *(BULLET + w for w in o.why)], 0.6, min(y, 5.4), 12, 7.2 - min(y, 5.4), 12)

    s = prs.slides.add_slide(blank)
    text(s, [deck.findings_title], 0.6, 0.3, 12, 0.7, 28, True)
    text(s, [BULLET + f for _, f in deck.findings], 0.6, 1.2, 12.1, 6, 13,
         colours=[SEVERITY_RGB.get(sev) for sev, _ in deck.findings])

    s = prs.slides.add_slide(blank)
    text(s, [deck.suggestions_title], 0.6, 0.3, 12, 0.7, 28, True)
    table(s, deck.suggestions, 1.2, deck.labels.get("more_suggestions") if deck.suggestions.rows
          else deck.labels["no_suggestions"])
    prs.save(str(out))


# -- PDF --------------------------------------------------------------------------------------------------------------
def write_pdf(deck: Deck, out: Path) -> None:
    from xml.sax.saxutils import escape

    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    from .fonts import subset_ttf

    texts = deck.texts()
    face = "DeckFont-" + hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:10]   # one registration per text set
    if face not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(face, io.BytesIO(subset_ttf(texts))))
    wrap = "CJK" if deck.language == "zh" else None

    def style(size: float, colour: Any = colors.black, lead: float = 1.3) -> ParagraphStyle:
        return ParagraphStyle(f"s{size}", fontName=face, fontSize=size, leading=size * lead, textColor=colour,
                              wordWrap=wrap)

    h1, h2, body, small = style(30), style(18), style(12), style(9.5)

    def p(x: str, st: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(x), st)

    def table(t: Table, widths: list[float] | None = None, note: str | None = None) -> list[Any]:
        if not t.rows:
            return [p(note or "—")]
        data = [[p(h, small) for h in t.header], *[[p(c, small) for c in r] for r in t.rows]]
        tab = RLTable(data, colWidths=widths, repeatRows=1)
        tab.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE5F0")),
                                 ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#A0A8B8")),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return [tab, *([Spacer(1, 4), p(note or f"+{t.more}", small)] if t.more else [])]

    story: list[Any] = [Spacer(1, 90), p(deck.title, h1), Spacer(1, 14), p(deck.subtitle, h2), Spacer(1, 30),
                        p(deck.labels["definitions"], body), Spacer(1, 4), p(deck.definitions, small), PageBreak(),
                        p(deck.labels["scorecard"], h2), Spacer(1, 8), *table(deck.scorecard)]
    if deck.chart:
        d = Drawing(820, 200)
        bc = VerticalBarChart()
        bc.x, bc.y, bc.width, bc.height = 40, 30, 640, 150
        bc.data = [[v or 0.0 for _, v, _ in deck.chart], [v or 0.0 for _, _, v in deck.chart]]
        bc.categoryAxis.categoryNames = [name for name, _, _ in deck.chart]
        bc.categoryAxis.labels.fontName = bc.valueAxis.labels.fontName = face
        bc.valueAxis.valueMin = 0
        bc.valueAxis.labelTextFormat = lambda v: f"{v:.0%}"
        bc.bars[0].fillColor, bc.bars[1].fillColor = colors.HexColor("#4472C4"), colors.HexColor("#A5A5A5")
        legend = Legend()
        legend.x, legend.y, legend.fontName, legend.fontSize = 700, 150, face, 9
        legend.colorNamePairs = [(colors.HexColor("#4472C4"), deck.labels["score"]),
                                 (colors.HexColor("#A5A5A5"), deck.labels["projected"])]
        d.add(bc)
        d.add(legend)
        story += [Spacer(1, 10), p(deck.chart_title, small), d]
    for o in deck.owners:
        story += [PageBreak(), p(o.title, h2), Spacer(1, 6), p(o.summary, body), Spacer(1, 8),
                  *table(o.table, [150, 190, 120, 120, 90, 110])]
        if o.why:
            story += [Spacer(1, 10), p(deck.labels["why"], body), *(p(BULLET + w, small) for w in o.why)]
    story += [PageBreak(), p(deck.findings_title, h2), Spacer(1, 8)]
    for sev, f in deck.findings:
        rgb = SEVERITY_RGB.get(sev, (0x40, 0x40, 0x40))
        story += [p(BULLET + f, style(10.5, colors.Color(*(c / 255 for c in rgb)))), Spacer(1, 4)]
    story += [PageBreak(), p(deck.suggestions_title, h2), Spacer(1, 8),
              *table(deck.suggestions, [130, 130, 170, 120, 300],
                     deck.labels.get("more_suggestions") if deck.suggestions.rows else deck.labels["no_suggestions"])]
    doc = SimpleDocTemplate(str(out), pagesize=(960, 540), leftMargin=40, rightMargin=40, topMargin=30,
                            bottomMargin=30, title=deck.title, author="sheets-sync")
    doc.build(story)


def write_deck(deck: Deck, out: Path) -> None:
    """``out`` ending .pptx or .pdf."""
    suffix = out.suffix.lower()
    if suffix == ".pptx":
        write_pptx(deck, out)
    elif suffix == ".pdf":
        write_pdf(deck, out)
    else:
        raise ValueError(f"{out.name}: the deck is written as .pptx or .pdf")
