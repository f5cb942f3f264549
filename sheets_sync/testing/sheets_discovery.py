"""The Sheets API v4 discovery document, and request checks against it, as Google's front end makes them.

``sheets_v4.20261019.discovery.json`` is Google's published discovery document for ``sheets:v4``, revision
20261019, byte for byte as google-api-python-client 2.202.0 ships it (``googleapiclient/discovery_cache/
documents/sheets.v4.json``; Apache-2.0; the live one is served at
``https://sheets.googleapis.com/$discovery/rest?version=v4``). Every schema, field, type and enum below comes
from it; nothing is written from sheets-sync's own client.

How a JSON body is read follows the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/), which
Google's API front end applies to every JSON request:

* a field may be sent under its lowerCamelCase name or its original proto name (``update_cells``); ``null`` is
  accepted for every field and means "not set";
* int32 / uint32: a JSON number or a string holding one, without a fraction, in range; int64: number or string;
  double / float: a number or a string (also "NaN", "Infinity", "-Infinity"); bool: ``true`` / ``false`` only;
  string: a JSON string; enum: the value's name (or its number); message: a JSON object; repeated: an array.

What Google answers for a body that breaks these rules (400 ``INVALID_ARGUMENT``, every violation on its own
line of ``message``, and a ``google.rpc.BadRequest`` detail listing them as ``fieldViolations``), as public
issue threads quote it:

* an unknown field — ``Invalid JSON payload received. Unknown name "headerValues" at
  'requests[0].update_sheet_properties.properties': Cannot find field.`` (theoephraim/node-google-spreadsheet
  #523; googleapis/google-api-python-client #930 shows the BadRequest detail; googleapis/google-api-php-client
  #1403 ten violations in one message). The path names fields by their proto (snake_case) names.
* a value of the wrong type or not in the enum — ``Invalid value at
  'requests[0].add_chart.chart.spec.pie_chart.legend_position'
  (type.googleapis.com/google.apps.sheets.v4.PieChartSpec.PieChartLegendPosition), "NONE"`` (quoted in public
  code; the enum's proto name is not in the discovery document: ours is the schema name plus the field name, a
  guess); scalars name their proto type (``TYPE_INT32``, ``TYPE_BOOL``, ``TYPE_STRING``, ``TYPE_DOUBLE``: the
  form of the Slides ``(scale_x)`` example and of gRPC transcoding errors, a guess for each type); an object where
  a scalar belongs — ``… Starting an object on a scalar field`` (quoted from a Slides API answer).
* two members of one union (the reference pages' "Union field kind … can be only one of the following", e.g.
  ``Request``, ``ColorStyle``, ``ExtendedValue``) — ``Invalid JSON payload received. Oneof field 'kind' is
  already set. Cannot set 'updateCells'`` ("oneof field 'kind' is already set" is quoted as live-verified in public
  code; the rest of the sentence is a guess). The discovery document does not carry unions: :data:`ONEOFS` lists
  the ones of the reference pages for the schemas sheets-sync sends.
* a query parameter the method does not have — ``Invalid JSON payload received. Unknown name "x": Cannot bind
  query parameter. Field 'x' could not be found in request message.`` (the first half is quoted in
  googleapis/google-api-nodejs-client #588; the second half is a guess).
* a field the discovery document calls required ("Required.", "(Required)", "At least one field must be
  specified", "When writing, this field must be set") — message a guess.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DISCOVERY_FILE = Path(__file__).with_name("sheets_v4.20261019.discovery.json")
PROTO_PACKAGE = "type.googleapis.com/google.apps.sheets.v4."
INT32 = (-(2 ** 31), 2 ** 31 - 1)
UINT32 = (0, 2 ** 32 - 1)
#: Unions ("Union field X … can be only one of the following") from the v4 reference pages, by schema.
ONEOFS: dict[str, dict[str, tuple[str, ...]]] = {      # and Request: each of its properties is one `kind`
    "ColorStyle": {"kind": ("rgbColor", "themeColor")},
    "ExtendedValue": {"value": ("numberValue", "stringValue", "boolValue", "formulaValue", "errorValue")},
    "UpdateCellsRequest": {"area": ("start", "range")},
    "DeveloperMetadataLocation": {"location": ("spreadsheet", "sheetId", "dimensionRange")},
    "EmbeddedObjectPosition": {"location": ("sheetId", "overlayPosition", "newSheet")},
    "DataFilter": {"filter": ("developerMetadataLookup", "a1Range", "gridRange")},
    "ConditionalFormatRule": {"rule": ("booleanRule", "gradientRule")},
    "ChartSpec": {"chart": ("basicChart", "pieChart", "bubbleChart", "candlestickChart", "orgChart",
                            "histogramChart", "waterfallChart", "treemapChart", "scorecardChart")},
    "PasteDataRequest": {"kind": ("delimiter", "html")},
}
_REQUIRED_TEXT = re.compile(r"^Required\.|\(Required\)|At least one field must be specified|When writing, this field "
                            r"must be set")
_DROP = object()
_SCALAR_TYPES = {("integer", "int32"): "TYPE_INT32", ("integer", "uint32"): "TYPE_UINT32",
                 ("string", "int64"): "TYPE_INT64", ("string", "uint64"): "TYPE_UINT64",
                 ("number", "double"): "TYPE_DOUBLE", ("number", "float"): "TYPE_FLOAT",
                 ("boolean", None): "TYPE_BOOL", ("string", None): "TYPE_STRING"}


@functools.cache
def discovery() -> dict[str, Any]:
    """The vendored discovery document (parsed once per process)."""
    return json.loads(DISCOVERY_FILE.read_text(encoding="utf-8"))


def revision() -> str:
    return str(discovery()["revision"])


def snake(name: str) -> str:
    """``updateSheetProperties`` → ``update_sheet_properties`` (the proto name Google's messages show)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@dataclass
class Violation:
    field: str          # the path as Google shows it: requests[0].update_cells.range.sheet_id
    description: str


@dataclass
class Checked:
    """A body as the server understands it (names camelCase, nulls dropped, numbers as numbers) and what is
    wrong with it (empty when valid)."""

    value: Any
    violations: list[Violation] = field(default_factory=list)

    def message(self) -> str:
        return "\n".join(v.description for v in self.violations)

    def error(self) -> dict[str, Any]:
        """Google's 400 body for these violations."""
        return {"error": {"code": 400, "message": self.message(), "status": "INVALID_ARGUMENT", "details": [
            {"@type": "type.googleapis.com/google.rpc.BadRequest",
             "fieldViolations": [{"field": v.field, "description": v.description} for v in self.violations]}]}}


class _Spec:
    """One field's compiled spec: kind, type name for messages, and the nested spec."""

    __slots__ = ("enum", "item", "kind", "ref", "schema", "typename")

    def __init__(self, kind: str, typename: str, *, ref: str = "", item: _Spec | None = None,
                 enum: tuple[str, ...] = ()):
        self.kind, self.typename, self.ref, self.item, self.enum = kind, typename, ref, item, enum
        self.schema: _Schema | None = None        # the message schema, once looked up


class _Schema:
    __slots__ = ("fields", "name", "oneofs", "required", "snake_names")

    def __init__(self, name: str):
        self.name = name
        self.fields: dict[str, tuple[_Spec, str]] = {}    # JSON name → (spec, proto name)
        self.snake_names: dict[str, str] = {}      # proto name → JSON name
        self.oneofs: tuple[tuple[str, frozenset[str]], ...] = ()
        self.required: tuple[str, ...] = ()


class Validator:
    """Checks JSON bodies and query parameters against the discovery document's schemas and methods."""

    def __init__(self, doc: dict[str, Any] | None = None):
        self.doc = doc or discovery()
        self._schemas: dict[str, _Schema] = {}

    # ------------------------------------------------------------------------------------------ schemas

    def schema(self, name: str) -> _Schema:
        got = self._schemas.get(name)
        if got is None:
            raw = self.doc["schemas"][name]
            got = _Schema(name)
            self._schemas[name] = got                 # before the fields: schemas refer to each other
            props = raw.get("properties", {})
            for key, prop in props.items():
                got.fields[key] = (self._compile(prop, f"{name}.{key}"), snake(key))
                got.snake_names[snake(key)] = key
            got.required = tuple(k for k, p in props.items() if _REQUIRED_TEXT.search(p.get("description", "")))
            unions = {"kind": tuple(props)} if name == "Request" else ONEOFS.get(name, {})
            got.oneofs = tuple((k, frozenset(v)) for k, v in unions.items())
        return got

    def _compile(self, prop: dict[str, Any], where: str) -> _Spec:
        if "$ref" in prop:
            return _Spec("message", PROTO_PACKAGE + prop["$ref"], ref=prop["$ref"])
        kind, fmt = prop.get("type"), prop.get("format")
        if kind == "array":
            return _Spec("array", "", item=self._compile(prop["items"], where))
        if kind == "object" and "additionalProperties" in prop:
            return _Spec("map", "", item=self._compile(prop["additionalProperties"], where))
        if kind in ("any", "object"):
            return _Spec("any", "")
        if "enum" in prop:
            schema, _, fld = where.partition(".")
            return _Spec("enum", f"{PROTO_PACKAGE}{schema}.{fld[:1].upper()}{fld[1:]}", enum=tuple(prop["enum"]))
        if kind == "string" and fmt not in ("int64", "uint64"):
            return _Spec("string", "TYPE_STRING")
        return _Spec(kind or "any", _SCALAR_TYPES.get((kind or "", fmt), f"TYPE_{str(fmt or kind).upper()}"))

    def check_body(self, body: Any, schema: str) -> Checked:
        """``body`` (parsed JSON) as a ``schema`` message: normalised in place, with every violation."""
        out: list[Violation] = []
        value = self._message(body, self.schema(schema), [], out, PROTO_PACKAGE + schema)
        return Checked(value, out)

    def _message(self, obj: Any, sch: _Schema, path: list[str], out: list[Violation], typename: str) -> Any:
        if not isinstance(obj, dict):
            self._bad(path, typename, obj, out)
            return obj
        fields = sch.fields
        changes: list[tuple[str, str, Any]] | None = None      # (key as sent, JSON name, new value or _DROP)
        for key, value in obj.items():
            got = fields.get(key)
            name = key
            if got is None:
                name = sch.snake_names.get(key, "")
                got = fields.get(name) if name else None
                if got is None:
                    at = f" at '{_fmt(path)}'" if path else ""
                    out.append(Violation(_fmt(path), f'Invalid JSON payload received. Unknown name "{key}"{at}: '
                                                     "Cannot find field."))
                    continue
            if value is None:                          # proto3 JSON: null = not set
                new: Any = _DROP
            else:
                spec, pname = got
                path.append(pname)
                new = self._value(value, spec, path, out)
                path.pop()
            if new is not value or name != key:
                if changes is None:
                    changes = []
                changes.append((key, name, new))
        if changes:
            for key, name, new in changes:
                del obj[key]
                if new is _DROP:
                    continue
                if name != key and name in obj:
                    out.append(Violation(_fmt(path), f'Invalid JSON payload received. Duplicate field "{key}"'
                                                     f"{' at ' + repr(_fmt(path)) if path else ''}."))   # a guess
                obj[name] = new
        for oneof, members in sch.oneofs:
            if len(obj) > 1:
                seen = [k for k in obj if k in members]
                if len(seen) > 1:
                    out.append(Violation(_fmt(path), f"Invalid JSON payload received. Oneof field '{oneof}' is "
                                                     f"already set. Cannot set '{seen[1]}'"))
        for req in sch.required:
            if req not in obj:
                out.append(Violation(f"{_fmt(path)}.{snake(req)}" if path else snake(req),
                                     f"Invalid {_camel_path(path) or sch.name}: {req} is required"))   # a guess
        return obj

    def _value(self, value: Any, spec: _Spec, path: list[str], out: list[Violation]) -> Any:
        kind = spec.kind
        if kind == "message":
            sch = spec.schema
            if sch is None:
                sch = spec.schema = self.schema(spec.ref)
            return self._message(value, sch, path, out, spec.typename)
        if kind == "array":
            if not isinstance(value, list):
                self._bad(path, "list", value, out)
                return value
            item = spec.item
            assert item is not None
            base = path.pop() if path else ""
            for i, v in enumerate(value):
                path.append(f"{base}[{i}]")
                if v is None:                          # null is a whole list's default, never an element's
                    out.append(Violation(_fmt(path), f"Invalid value at '{_fmt(path)}', null: repeated field "
                                                     "elements cannot be null"))                      # a guess
                    path.pop()
                    continue
                new = self._value(v, item, path, out)
                path.pop()
                if new is not v:
                    value[i] = new
            path.append(base)
            return value
        if kind == "map":
            if not isinstance(value, dict):
                self._bad(path, "map", value, out)
                return value
            assert spec.item is not None
            for k, v in value.items():
                path.append(str(k))
                value[k] = self._value(v, spec.item, path, out)
                path.pop()
            return value
        if kind == "any":
            return value
        if isinstance(value, dict | list):
            out.append(Violation(_fmt(path), f"Invalid value at '{_fmt(path)}' ({spec.typename}), "
                                             + ("Starting an object on a scalar field" if isinstance(value, dict)
                                                else "Proto field is not repeating, cannot start list.")))
            return value
        if kind == "string":
            if not isinstance(value, str):
                self._bad(path, spec.typename, value, out)
            return value
        if kind == "enum":
            if isinstance(value, str) and value in spec.enum:
                return value
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(spec.enum):
                return spec.enum[value]
            self._bad(path, spec.typename, value, out)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                self._bad(path, spec.typename, value, out)
            return value
        if kind == "integer":
            n = _as_int(value)
            lo, hi = UINT32 if spec.typename == "TYPE_UINT32" else INT32
            if n is None or not lo <= n <= hi:
                self._bad(path, spec.typename, value, out)
                return value
            return n
        if kind == "number":
            f = _as_float(value)
            if f is None:
                self._bad(path, spec.typename, value, out)
                return value
            return value if isinstance(value, int | float) and not isinstance(value, bool) else f
        if spec.typename in ("TYPE_INT64", "TYPE_UINT64"):
            n = _as_int(value)
            if n is None:
                self._bad(path, spec.typename, value, out)
                return value
            return str(n)
        return value

    @staticmethod
    def _bad(path: list[str], typename: str, value: Any, out: list[Violation]) -> None:
        shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, dict | list) else (
            "{…}" if isinstance(value, dict) else "[…]")
        out.append(Violation(_fmt(path), f"Invalid value at '{_fmt(path)}' ({typename}), {shown}"))

    # ------------------------------------------------------------------------------------------ methods

    def method(self, method_id: str) -> dict[str, Any]:
        """``sheets.spreadsheets.values.batchGet`` → its discovery entry."""
        node: Any = self.doc
        parts = method_id.split(".")[1:]
        for p in parts[:-1]:
            node = node["resources"][p]
        return node["methods"][parts[-1]]

    def methods(self) -> Iterator[tuple[str, dict[str, Any]]]:
        def walk(node: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
            for m in node.get("methods", {}).values():
                yield m["id"], m
            for sub in node.get("resources", {}).values():
                yield from walk(sub)
        yield from walk(self.doc)

    def check_query(self, method_id: str, query: dict[str, list[str]]) -> Checked:
        """Query parameters of ``method_id``: unknown names, enums, booleans, integers."""
        params = {**self.doc.get("parameters", {}), **self.method(method_id).get("parameters", {})}
        out: list[Violation] = []
        values: dict[str, list[str]] = {}
        for key, got in query.items():
            name = key if key in params else camel(key)
            p = params.get(name)
            if p is None or p.get("location") == "path":
                out.append(Violation(key, f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query '
                                          f"parameter. Field '{key}' could not be found in request message."))
                continue
            for v in got:
                if "enum" in p and v not in p["enum"]:
                    enum = f"{PROTO_PACKAGE}{name[:1].upper()}{name[1:]}"
                    out.append(Violation(snake(name), f"Invalid value at '{snake(name)}' ({enum}), \"{v}\""))
                elif p.get("type") == "boolean" and v not in ("true", "false"):
                    out.append(Violation(snake(name), f"Invalid value at '{snake(name)}' (TYPE_BOOL), \"{v}\""))
                elif p.get("type") == "integer" and _as_int(v) is None:
                    out.append(Violation(snake(name), f"Invalid value at '{snake(name)}' (TYPE_INT32), \"{v}\""))
            if len(got) > 1 and not p.get("repeated"):
                out.append(Violation(snake(name), f"Invalid JSON payload received. Repeated values for field "
                                                  f"'{name}' which is not repeated."))     # a guess
            values[name] = got
        return Checked(values, out)


def _fmt(path: list[str]) -> str:
    return ".".join(path)


def _camel_path(path: list[str]) -> str:
    return ".".join(re.sub(r"^[a-z0-9_]+", lambda m: camel(m.group(0)), p) for p in path)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.0*)?([eE]\+?\d+)?", value.strip()):
        f = float(value)
        return int(f) if f.is_integer() else None
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value in ("NaN", "Infinity", "-Infinity"):
            return float(value.replace("Infinity", "inf"))
        try:
            return float(value)
        except ValueError:
            return None
    return None
