"""Write generated tabs into a team's .xlsx by replacing package parts, never by re-saving the workbook.

An .xlsx file is a zip of XML parts linked by relationship ("rels") parts. A sync copies every part of the
team's file byte for byte — team tabs' sheet XML, their rels, drawings, images, charts, comments, tables, pivot
caches, shared strings, theme, defined names — except:

* the generated tabs' sheet parts (and the drawings/charts reachable only from them), replaced by the parts
  openpyxl wrote for the new generated tabs in a small scratch workbook (their data rows streamed by
  :mod:`.xlsx_stream`, text as inline strings so ``sharedStrings.xml`` is left as it is);
* ``xl/styles.xml``: the scratch workbook's styles are appended (existing style ids stay valid; an identical
  style already in the file is reused, so repeated syncs do not grow it);
* ``xl/workbook.xml``: a ``<sheet>`` entry for a generated tab that did not exist yet, its print titles, and the
  tab the workbook opens on; its rels and ``[Content_Types].xml`` get the matching small edits;
* ``xl/calcChain.xml`` is dropped only when it lists a cell of a replaced tab (Excel rebuilds it).

All edits are textual insertions into the original XML, so namespaces, prefixes and extensions that this code
does not know about are kept as the spreadsheet program wrote them.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from .xlsx_stream import RowPlan, write_sheet

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_REL = REL_NS + "/worksheet"
CALC_CHAIN_REL = REL_NS + "/calcChain"
STYLES_REL = REL_NS + "/styles"
# schema order of styleSheet children (a missing container is inserted before the first later one present)
STYLE_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
               "tableStyles", "colors", "extLst")
FIRST_CUSTOM_NUMFMT = 164


class PackageError(ValueError):
    """The original package is not a workbook this writer can edit (the caller reports it)."""


def rels_name(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


@dataclass
class Rel:
    id: str
    type: str
    target: str            # as written
    part: str | None       # the resolved part name, None for an external target


def read_rels(z: zipfile.ZipFile, names: set[str], part: str) -> list[Rel]:
    rp = rels_name(part) if part else "_rels/.rels"
    if rp not in names:
        return []
    out = []
    for el in ET.fromstring(z.read(rp)).findall(f"{{{PKG_REL}}}Relationship"):
        external = el.get("TargetMode") == "External"
        target = el.get("Target", "")
        out.append(Rel(el.get("Id", ""), el.get("Type", ""), target, None if external else _resolve(part, target)))
    return out


def _reach(z: zipfile.ZipFile, names: set[str], starts: Iterable[str], skip: Set[str] = frozenset()) -> set[str]:
    """Every part reachable from ``starts`` through rels (not entering ``skip``)."""
    seen: set[str] = set()
    todo = [s for s in starts if s not in skip]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for r in read_rels(z, names, p):
            if r.part and r.part not in seen and r.part not in skip:
                todo.append(r.part)
    return seen


@dataclass
class SheetRef:
    name: str
    sheet_id: int
    rid: str
    part: str
    index: int


def workbook_part(z: zipfile.ZipFile, names: set[str]) -> str:
    for r in read_rels(z, names, ""):
        if r.type.endswith("/officeDocument") and r.part:
            return r.part
    raise PackageError("no workbook part in the package")


def sheets_of(z: zipfile.ZipFile, names: set[str], book_part: str) -> list[SheetRef]:
    rels = {r.id: r for r in read_rels(z, names, book_part)}
    book = ET.fromstring(z.read(book_part))
    out = []
    for i, el in enumerate(book.findall(f"{{{MAIN}}}sheets/{{{MAIN}}}sheet")):
        rid = el.get(f"{{{REL_NS}}}id", "")
        rel = rels.get(rid)
        out.append(SheetRef(el.get("name", ""), int(el.get("sheetId", "0")), rid,
                            rel.part if rel and rel.part else "", i))
    return out


# -- styles --------------------------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _key(el: ET.Element) -> tuple:
    return (_local(el.tag), tuple(sorted((_local(k), v) for k, v in el.attrib.items())),
            (el.text or "").strip(), tuple(_key(c) for c in el))


def _xml(el: ET.Element, prefix: str) -> str:
    """Serialise a (spreadsheetml-namespace) element with the file's own prefix for that namespace."""
    tag = _local(el.tag)
    if el.tag.startswith("{") and not el.tag.startswith(f"{{{MAIN}}}"):
        raise PackageError(f"unexpected element {el.tag} in a generated style")
    attrs = "".join(f" {_local(k)}={quoteattr(v)}" for k, v in el.attrib.items())
    inner = escape(el.text or "") + "".join(_xml(c, prefix) for c in el)
    return f"<{prefix}{tag}{attrs}>{inner}</{prefix}{tag}>" if inner else f"<{prefix}{tag}{attrs}/>"


class StyleMerge:
    """Append the scratch workbook's styles to the team's ``styles.xml``; map scratch ids to the file's ids."""

    def __init__(self, original: bytes, scratch: bytes):
        self.text = original.decode("utf-8")
        m = re.search(r"<(\w+:)?styleSheet\b", self.text)
        if m is None:
            raise PackageError("xl/styles.xml has no styleSheet")
        self.prefix = m.group(1) or ""
        if self.prefix and f'xmlns:{self.prefix[:-1]}="{MAIN}"' not in self.text:
            raise PackageError("xl/styles.xml uses an unknown namespace prefix")
        self.changed = False
        orig = ET.fromstring(original)
        new = ET.fromstring(scratch)

        def children(root, name):
            box = root.find(f"{{{MAIN}}}{name}")
            return list(box) if box is not None else []

        # number formats: by format code
        have = {el.get("formatCode"): int(el.get("numFmtId", "0")) for el in children(orig, "numFmts")}
        next_id = max([FIRST_CUSTOM_NUMFMT - 1, *have.values()]) + 1
        self.numfmt: dict[int, int] = {}
        added: list[str] = []
        for el in children(new, "numFmts"):
            code, sid = el.get("formatCode"), int(el.get("numFmtId", "0"))
            if code not in have:
                have[code] = next_id
                added.append(f'<{self.prefix}numFmt numFmtId="{next_id}" formatCode={quoteattr(code or "")}/>')
                next_id += 1
            self.numfmt[sid] = have[code]
        self._append("numFmts", added)
        self.font = self._merge(orig, new, "fonts")
        self.fill = self._merge(orig, new, "fills")
        self.border = self._merge(orig, new, "borders")
        for el in children(new, "cellXfs"):
            for attr, table in (("fontId", self.font), ("fillId", self.fill), ("borderId", self.border),
                                ("numFmtId", self.numfmt)):
                if el.get(attr) is not None:
                    v = int(el.get(attr))
                    el.set(attr, str(table.get(v, v)))
            el.set("xfId", "0")
        self.xf = self._merge(orig, new, "cellXfs")
        self.dxf = self._merge(orig, new, "dxfs")

    def _merge(self, orig: ET.Element, new: ET.Element, name: str) -> dict[int, int]:
        box = orig.find(f"{{{MAIN}}}{name}")
        existing = list(box) if box is not None else []
        index: dict[tuple, int] = {}
        for i, el in enumerate(existing):
            index.setdefault(_key(el), i)
        n = len(existing)
        mapping: dict[int, int] = {}
        added: list[str] = []
        newbox = new.find(f"{{{MAIN}}}{name}")
        for i, el in enumerate(list(newbox) if newbox is not None else []):
            k = _key(el)
            if k not in index:
                index[k] = n
                n += 1
                added.append(_xml(el, self.prefix))
            mapping[i] = index[k]
        self._append(name, added)
        return mapping

    def _append(self, name: str, items: list[str]) -> None:
        if not items:
            return
        self.changed = True
        p = re.escape(self.prefix)
        m = re.search(rf"<{p}{name}\b([^>]*?)(/?)>", self.text)
        if m is None:   # no container yet: insert one at its place in the schema order
            later = STYLE_ORDER[STYLE_ORDER.index(name) + 1:]
            pos = None
            for nxt in later:
                mm = re.search(rf"<{p}{nxt}\b", self.text)
                if mm:
                    pos = mm.start()
                    break
            if pos is None:
                pos = self.text.rindex(f"</{self.prefix}styleSheet>")
            block = f'<{self.prefix}{name} count="{len(items)}">{"".join(items)}</{self.prefix}{name}>'
            self.text = self.text[:pos] + block + self.text[pos:]
            return
        attrs = m.group(1)
        count = re.search(r'\bcount="(\d+)"', attrs)
        total = (int(count.group(1)) if count else 0) + len(items)
        if count:
            attrs = attrs[:count.start()] + f'count="{total}"' + attrs[count.end():]
        else:
            attrs = f' count="{total}"' + attrs
        if m.group(2):   # <dxfs count="0"/>
            repl = f"<{self.prefix}{name}{attrs.rstrip()}>{''.join(items)}</{self.prefix}{name}>"
            self.text = self.text[:m.start()] + repl + self.text[m.end():]
        else:
            end = self.text.index(f"</{self.prefix}{name}>", m.end())
            self.text = (self.text[:m.start()] + f"<{self.prefix}{name}{attrs}>" + self.text[m.end():end]
                         + "".join(items) + self.text[end:])
        # real counts: an original count attribute may have been wrong; recount the children we know of
        self._fix_count(name)

    def _fix_count(self, name: str) -> None:
        root = ET.fromstring(self.text.encode("utf-8"))
        box = root.find(f"{{{MAIN}}}{name}")
        if box is None:
            return
        p = re.escape(self.prefix)
        self.text = re.sub(rf'(<{p}{name}\b[^>]*?\bcount=")\d+(")', rf"\g<1>{len(box)}\2", self.text, count=1)

    def remap_sheet(self, data: str) -> str:
        """Scratch style ids in a sheet part → the file's ids (cells, rows, columns, conditional formats)."""
        def cell(m: re.Match) -> str:
            return f'{m.group(1)}{self.xf.get(int(m.group(2)), 0)}"'

        data = re.sub(r'(<(?:c|row)\b[^>]*?\bs=")(\d+)"', cell, data)
        data = re.sub(r'(<col\b[^>]*?\bstyle=")(\d+)"', cell, data)
        return re.sub(r'(<cfRule\b[^>]*?\bdxfId=")(\d+)"',
                      lambda m: f'{m.group(1)}{self.dxf.get(int(m.group(2)), 0)}"', data)

    def remap_attr(self, s: str) -> str:
        """`` s="N"`` (a RowPlan style attribute) → the file's id."""
        m = re.fullmatch(r' s="(\d+)"', s)
        return f' s="{self.xf.get(int(m.group(1)), 0)}"' if m else s


# -- the writer ----------------------------------------------------------------------------------------------

def _inline_strings(data: str, strings: list[str]) -> str:
    def repl(m: re.Match) -> str:
        text = strings[int(m.group(3))]
        if not text:
            return f'<c{m.group(1)}t="inlineStr"{m.group(2)}/>'
        return (f'<c{m.group(1)}t="inlineStr"{m.group(2)}><is><t xml:space="preserve">{escape(text)}</t>'
                f"</is></c>")
    return re.sub(r'<c\b([^>]*?)t="s"([^>]*)><v>(\d+)</v></c>', repl, data)


def _shared_strings(z: zipfile.ZipFile, names: set[str]) -> list[str]:
    if "xl/sharedStrings.xml" not in names:
        return []
    root = ET.fromstring(z.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{{{MAIN}}}t")) for si in root.findall(f"{{{MAIN}}}si")]


def _content_types(data: bytes) -> tuple[dict[str, str], dict[str, str]]:
    root = ET.fromstring(data)
    defaults = {el.get("Extension", "").lower(): el.get("ContentType", "") for el in root.findall(f"{{{CT_NS}}}Default")}
    overrides = {el.get("PartName", "").lstrip("/"): el.get("ContentType", "")
                 for el in root.findall(f"{{{CT_NS}}}Override")}
    return defaults, overrides


def _free_name(used: set[str], template: str) -> str:
    d, f = posixpath.split(template)
    m = re.fullmatch(r"(.*?)(\d*)(\.[^.]+)", f)
    base, ext = (m.group(1), m.group(3)) if m else (f, "")
    n = 1
    while True:
        name = posixpath.join(d, f"{base}{n}{ext}")
        if name not in used:
            return name
        n += 1


_SELECTED = re.compile(rb'<(?:\w+:)?sheetView\b[^>]*\btabSelected="(?:1|true)"')


def team_tab_selected(z: zipfile.ZipFile, part: str) -> bool:
    with z.open(part) as fh:
        head = fh.read(16384)
    return bool(_SELECTED.search(head))


def _select(xml: str, selected: bool) -> str:
    """Set the sheet's tabSelected flag (the scratch sheets are written unselected)."""
    xml = re.sub(r'(<sheetView\b[^>]*?)\s+tabSelected="[^"]*"', r"\1", xml, count=1)
    if selected:
        xml = re.sub(r"<sheetView\b", '<sheetView tabSelected="1"', xml, count=1)
    return xml


def _sheet_name_ref(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def replace_tabs(src: str, dst: str, scratch: bytes, tab_names: Sequence[str], plans: dict[str, RowPlan],
                 landing: str | None, compresslevel: int = 1) -> None:
    """Write ``dst``: the package ``src`` with the generated tabs ``tab_names`` taken from the openpyxl-saved
    ``scratch`` package (``plans``: tab name → its streamed data rows)."""
    zs = zipfile.ZipFile(io.BytesIO(scratch))
    with zipfile.ZipFile(src) as z:
        names = set(z.namelist())
        book_part = workbook_part(z, names)
        book_rels = read_rels(z, names, book_part)
        sheets = sheets_of(z, names, book_part)
        by_name = {s.name: s for s in sheets}
        replaced = [by_name[n] for n in tab_names if n in by_name]
        replaced_parts = {s.part for s in replaced if s.part}
        kept_reach = _reach(z, names, [r.part for r in read_rels(z, names, "") if r.part], skip=replaced_parts)
        old_reach = _reach(z, names, replaced_parts)
        drop = (old_reach - kept_reach) - replaced_parts
        drop |= {rels_name(p) for p in old_reach - kept_reach} & names
        # calcChain: keep it unless it lists a cell of a replaced tab
        calc = next((r.part for r in book_rels if r.type == CALC_CHAIN_REL and r.part in names), None)
        replaced_ids = {s.sheet_id for s in replaced}
        if calc and replaced_ids and _calc_mentions(z.read(calc), replaced_ids):
            drop |= {calc, rels_name(calc)} & names
        drop_calc = calc in drop if calc else False

        zs_names = set(zs.namelist())
        s_book = workbook_part(zs, zs_names)
        s_sheets = {s.name: s for s in sheets_of(zs, zs_names, s_book)}
        s_defaults, s_overrides = _content_types(zs.read("[Content_Types].xml"))
        ct_data = z.read("[Content_Types].xml")
        defaults, overrides = _content_types(ct_data)
        strings = _shared_strings(zs, zs_names)
        styles_part = next((r.part for r in book_rels if r.type == STYLES_REL and r.part in names), None)
        if styles_part is None:
            raise PackageError("the workbook has no styles part")
        styles = StyleMerge(z.read(styles_part), zs.read("xl/styles.xml"))
        for plan in plans.values():
            plan.styles = {k: styles.remap_attr(v) for k, v in plan.styles.items()}

        used = (names - drop) | replaced_parts
        # landing tab: only when no team tab is selected (a selected team tab would be grouped with it)
        gen = set(tab_names)
        out_order = [s.name for s in sheets] + [n for n in tab_names if n not in by_name]
        selected_team = any(team_tab_selected(z, s.part) for s in sheets
                            if s.name not in gen and s.part in names)
        active = out_order.index(landing) if landing in gen and not selected_team else None
        new_parts: dict[str, bytes | tuple[str, RowPlan | None]] = {}   # out name → bytes, or (sheet xml, plan)
        new_ct: dict[str, str] = {}
        new_sheets: list[tuple[str, str]] = []   # (tab name, out part) of tabs not in the file yet
        for name in tab_names:
            s_ref = s_sheets[name]
            old = by_name.get(name)
            if old is not None and old.part:
                out_part = old.part
            else:
                out_part = _free_name(used, "xl/worksheets/sheet1.xml")
                used.add(out_part)
                new_sheets.append((name, out_part))
                new_ct[out_part] = s_overrides.get(s_ref.part, "")
            mapping = {s_ref.part: out_part}
            for p in sorted(_reach(zs, zs_names, [s_ref.part]) - {s_ref.part}):
                mapping[p] = _free_name(used, p)
                used.add(mapping[p])
            for sp, op in mapping.items():
                if sp == s_ref.part:
                    xml = styles.remap_sheet(_inline_strings(zs.read(sp).decode("utf-8"), strings))
                    xml = _select(xml, active is not None and name == landing)
                    new_parts[op] = (xml, plans.get(name))
                else:
                    new_parts[op] = zs.read(sp)
                ext = posixpath.splitext(op)[1].lstrip(".").lower()
                ctype = s_overrides.get(sp) or s_defaults.get(ext, "")
                if op != out_part and defaults.get(ext) != ctype:
                    new_ct[op] = ctype
                rels = read_rels(zs, zs_names, sp)
                if rels:
                    new_parts[rels_name(op)] = _rels_xml(rels, mapping)
                    used.add(rels_name(op))
        for p in replaced_parts:   # an old sheet's rels when the new one has none
            if rels_name(p) in names and rels_name(p) not in new_parts:
                drop.add(rels_name(p))

        book = _edit_workbook(z.read(book_part).decode("utf-8"), sheets, new_sheets, book_rels, tab_names,
                              out_order, active)
        rid_of = _new_rids(book_rels, new_sheets)
        book = _add_sheet_entries(book, sheets, new_sheets, rid_of)
        rels_text = z.read(rels_name(book_part)).decode("utf-8")
        rels_text = _edit_book_rels(rels_text, book_part, new_sheets, rid_of, calc if drop_calc else None)
        ct_text = _edit_content_types(ct_data.decode("utf-8"), drop, new_ct)

        replaced_out = {book_part: book.encode("utf-8"), rels_name(book_part): rels_text.encode("utf-8"),
                        "[Content_Types].xml": ct_text.encode("utf-8")}
        if styles.changed:
            replaced_out[styles_part] = styles.text.encode("utf-8")
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=compresslevel) as out:
            for info in z.infolist():
                fn = info.filename
                if fn in drop:
                    continue
                if fn in replaced_out:
                    out.writestr(info, replaced_out.pop(fn))
                elif fn in new_parts:
                    _write_new(out, fn, new_parts.pop(fn))
                else:
                    _copy(z, out, info)
            for fn, data in new_parts.items():
                _write_new(out, fn, data)


def _copy(z: zipfile.ZipFile, out: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy a part byte for byte (its content; the zip entry keeps its name, date and compression)."""
    with z.open(info) as src, out.open(info, "w", force_zip64=info.file_size > 2**31) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)


def _write_new(out: zipfile.ZipFile, name: str, data: Any) -> None:
    if isinstance(data, bytes):
        out.writestr(name, data)
        return
    xml, plan = data
    with out.open(name, "w", force_zip64=True) as fh:
        write_sheet(xml.encode("utf-8"), plan, fh, name)


def _calc_mentions(data: bytes, sheet_ids: set[int]) -> bool:
    current = None
    for m in re.finditer(rb"<(?:\w+:)?c\b([^>]*)/?>", data):
        i = re.search(rb'\bi="(\d+)"', m.group(1))
        if i:
            current = int(i.group(1))
        if current in sheet_ids:
            return True
    return False


def _rels_xml(rels: list[Rel], mapping: dict[str, str]) -> bytes:
    items = []
    for r in rels:
        if r.part is None:
            items.append(f'<Relationship Id={quoteattr(r.id)} Type={quoteattr(r.type)} '
                         f'Target={quoteattr(r.target)} TargetMode="External"/>')
        else:
            target = "/" + mapping.get(r.part, r.part)
            items.append(f'<Relationship Id={quoteattr(r.id)} Type={quoteattr(r.type)} Target={quoteattr(target)}/>')
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
            + "".join(items) + "</Relationships>").encode("utf-8")


def _new_rids(book_rels: list[Rel], new_sheets: list[tuple[str, str]]) -> dict[str, str]:
    have = {r.id for r in book_rels}
    out: dict[str, str] = {}
    n = 1
    for _, part in new_sheets:
        while f"rId{n}" in have:
            n += 1
        out[part] = f"rId{n}"
        have.add(f"rId{n}")
    return out


def _prefix_of(text: str, local: str) -> str:
    m = re.search(rf"<(\w+:)?{local}\b", text)
    return (m.group(1) or "") if m else ""


def _edit_workbook(text: str, sheets: list[SheetRef], new_sheets: list[tuple[str, str]], book_rels: list[Rel],
                   tab_names: Sequence[str], out_order: list[str], active: int | None) -> str:
    p = _prefix_of(text, "workbook")
    root = ET.fromstring(text.encode("utf-8"))
    have_titles = {el.get("localSheetId") for el in root.iter(f"{{{MAIN}}}definedName")
                   if el.get("name") == "_xlnm.Print_Titles"}
    names = []
    for name in tab_names:
        idx = out_order.index(name)
        if str(idx) not in have_titles:
            ref = f"{_sheet_name_ref(name)}!$2:$2"
            names.append(f'<{p}definedName name="_xlnm.Print_Titles" localSheetId="{idx}">{escape(ref)}'
                         f"</{p}definedName>")
    if names:
        m = re.search(rf"</{re.escape(p)}definedNames>", text)
        if m:
            text = text[:m.start()] + "".join(names) + text[m.start():]
        else:
            m = re.search(rf"</{re.escape(p)}externalReferences>", text) or re.search(rf"</{re.escape(p)}sheets>",
                                                                                    text)
            if m is None:
                raise PackageError("xl/workbook.xml has no <sheets>")
            text = text[:m.end()] + f"<{p}definedNames>{''.join(names)}</{p}definedNames>" + text[m.end():]
    if active is not None:
        m = re.search(rf"<{re.escape(p)}workbookView\b[^>]*?/?>", text)
        if m:
            tag = m.group(0)
            if re.search(r'\bactiveTab="\d+"', tag):
                new = re.sub(r'\bactiveTab="\d+"', f'activeTab="{active}"', tag)
            else:
                new = tag.replace(f"<{p}workbookView", f'<{p}workbookView activeTab="{active}"', 1)
            fs = re.search(r'\bfirstSheet="(\d+)"', new)
            if fs and int(fs.group(1)) > active:
                new = new.replace(fs.group(0), f'firstSheet="{active}"')
            text = text[:m.start()] + new + text[m.end():]
    return text


def _add_sheet_entries(text: str, sheets: list[SheetRef], new_sheets: list[tuple[str, str]],
                       rid_of: dict[str, str]) -> str:
    if not new_sheets:
        return text
    p = _prefix_of(text, "workbook")
    # the relationships prefix as the root declares it; a writer that declares it on each <sheet> instead
    # (openpyxl does) gives a new entry no prefix in scope, so the entry declares its own
    root_tag = re.search(rf"<{re.escape(p)}workbook\b[^>]*>", text)
    rp = re.search(r'xmlns:(\w+)="' + re.escape(REL_NS) + '"', root_tag.group(0)) if root_tag else None
    r, declare = (rp.group(1), "") if rp else ("r", f' xmlns:r="{REL_NS}"')
    next_id = max([0, *(s.sheet_id for s in sheets)]) + 1
    items = []
    for name, part in new_sheets:
        items.append(f"<{p}sheet{declare} name={quoteattr(name)} sheetId=\"{next_id}\" {r}:id=\"{rid_of[part]}\"/>")
        next_id += 1
    m = re.search(rf"</{re.escape(p)}sheets>", text)
    if m is None:
        raise PackageError("xl/workbook.xml has no <sheets>")
    return text[:m.start()] + "".join(items) + text[m.start():]


def _edit_book_rels(text: str, book_part: str, new_sheets: list[tuple[str, str]], rid_of: dict[str, str],
                    drop_calc: str | None) -> str:
    if drop_calc:
        text = re.sub(r"<Relationship\b[^>]*\bType=\"" + re.escape(CALC_CHAIN_REL) + r"\"[^>]*/>", "", text)
    items = [f'<Relationship Id="{rid_of[part]}" Type="{WORKSHEET_REL}" Target="/{part}"/>' for _, part in new_sheets]
    if items:
        end = text.rindex("</Relationships>")
        text = text[:end] + "".join(items) + text[end:]
    return text


def _edit_content_types(text: str, drop: set[str], new_ct: dict[str, str]) -> str:
    for part in drop:
        text = re.sub(r"<Override\b[^>]*\bPartName=\"/" + re.escape(part) + r"\"[^>]*/>", "", text)
    _, overrides = _content_types(text.encode("utf-8"))
    items = [f'<Override PartName="/{part}" ContentType={quoteattr(ct)}/>' for part, ct in new_ct.items()
             if ct and overrides.get(part) != ct]
    if items:
        end = text.rindex("</Types>")
        text = text[:end] + "".join(items) + text[end:]
    return text
