"""BODACC `annonces-commerciales` on Opendatasoft Explore v2.1: the `/records` endpoint over records.json.

Supported: `where` (ODSQL subset: `field="value"`, `field!="value"`, AND, OR, NOT, parentheses),
`refine` / `exclude` (`field:value`), `order_by` ("field [asc|desc], …"), `limit` (default 10, -1..100),
`offset` (offset + limit ≤ 10 000), `select` (a list of field names). Errors are Opendatasoft's
`{"error_code", "message"}` with HTTP 400.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .catalogue import BODACC_RECORDS_FILE

MAX_LIMIT = 100
MAX_WINDOW = 10_000


class ODSError(Exception):
    def __init__(self, error_code: str, message: str):
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    def body(self) -> dict:
        return {"error_code": self.error_code, "message": self.message}


def load_records(path: Path = BODACC_RECORDS_FILE) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


# ODSQL `where` ------------------------------------------------------------------------------------------
TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)"""
    r"""|(?P<op>!=|=|\(|\))|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"""
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        found = TOKEN.match(text, position)
        if not found or found.end() == position:
            raise ODSError("ODSQLError", f"ODSQL query is malformed: unexpected character at {position}")
        kind = found.lastgroup
        value = found.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word" and value.upper() in ("AND", "OR", "NOT"):
            kind, value = "keyword", value.upper()
        tokens.append((kind, value))
        position = found.end()
    return tokens


class _WhereParser:
    """expr := and (OR and)* ; and := not (AND not)* ; not := NOT not | '(' expr ')' | field (=|!=) value"""

    def __init__(self, text: str, fields: set[str]):
        self.tokens = _tokens(text)
        self.position = 0
        self.fields = fields

    def parse(self):
        predicate = self._or()
        if self.position != len(self.tokens):
            raise ODSError("ODSQLError", f"ODSQL query is malformed: unexpected {self.tokens[self.position][1]!r}")
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise ODSError("ODSQLError", "ODSQL query is malformed: unexpected end of the expression")
        self.position += 1
        return token

    def _or(self):
        parts = [self._and()]
        while self._peek() == ("keyword", "OR"):
            self.position += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda record: any(part(record) for part in parts)

    def _and(self):
        parts = [self._not()]
        while self._peek() == ("keyword", "AND"):
            self.position += 1
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else lambda record: all(part(record) for part in parts)

    def _not(self):
        kind, value = self._next()
        if (kind, value) == ("keyword", "NOT"):
            inner = self._not()
            return lambda record: not inner(record)
        if (kind, value) == ("op", "("):
            inner = self._or()
            if self._next() != ("op", ")"):
                raise ODSError("ODSQLError", "ODSQL query is malformed: ')' expected")
            return inner
        if kind != "word":
            raise ODSError("ODSQLError", f"ODSQL query is malformed: unexpected {value!r}")
        if value not in self.fields:
            raise ODSError("ODSQLError", f"Unknown field: {value}")
        _, operator = self._next()
        if operator not in ("=", "!="):
            raise ODSError("ODSQLError", f"ODSQL query is malformed: unsupported operator {operator!r}")
        literal_kind, literal = self._next()
        if literal_kind not in ("string", "number"):
            raise ODSError("ODSQLError", f"ODSQL query is malformed: a value is expected after {value}")
        field_name = value
        if operator == "=":
            return lambda record: _equals(record.get(field_name), literal)
        return lambda record: not _equals(record.get(field_name), literal)


def _equals(value: Any, literal: str) -> bool:
    if isinstance(value, list):
        return any(_equals(item, literal) for item in value)
    return value is not None and str(value) == literal


# Query --------------------------------------------------------------------------------------------------
def _int_parameter(params: dict[str, list[str]], name: str, default: int) -> int:
    raw = params.get(name, [str(default)])[-1]
    try:
        return int(raw)
    except ValueError:
        raise ODSError(
            "InvalidRESTParameterError", f"Invalid value for {name} API parameter: {raw} is not an integer."
        ) from None


def _facet(params: dict[str, list[str]], name: str, fields: set[str]) -> list[tuple[str, str]]:
    facets = []
    for raw in params.get(name, []):
        field_name, _, value = raw.partition(":")
        if not value or field_name not in fields:
            raise ODSError("InvalidRESTParameterError", f"Invalid value for {name} API parameter: {raw}")
        facets.append((field_name, value))
    return facets


def _facet_matches(value: Any, wanted: str) -> bool:
    if isinstance(value, list):
        return any(_facet_matches(item, wanted) for item in value)
    if value is None:
        return False
    text = str(value)
    # date facets refine by year, year/month or day: "2026", "2026/03", "2026/03/20"
    return text == wanted or (re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) and text.startswith(wanted.replace("/", "-")))


def search(records: list[dict], params: dict[str, list[str]]) -> dict:
    """The `/records` answer for the query parameters (parse_qs form); raises ODSError (HTTP 400)."""
    fields = {name for record in records for name in record}
    limit = _int_parameter(params, "limit", 10)
    if not -1 <= limit <= MAX_LIMIT:
        raise ODSError(
            "InvalidRESTParameterError",
            f"Invalid value for limit API parameter: {limit} was found but -1 <= limit <= {MAX_LIMIT} is expected.",
        )
    limit = MAX_LIMIT if limit == -1 else limit
    offset = _int_parameter(params, "offset", 0)
    if offset < 0 or offset + limit > MAX_WINDOW:
        raise ODSError(
            "InvalidRESTParameterError",
            f"Invalid value for offset API parameter: {offset} was found but 0 <= offset and "
            f"offset + limit <= {MAX_WINDOW} is expected.",
        )

    selected = list(records)
    for where in params.get("where", []):
        if where.strip():
            predicate = _WhereParser(where, fields).parse()
            selected = [record for record in selected if predicate(record)]
    for field_name, value in _facet(params, "refine", fields):
        selected = [record for record in selected if _facet_matches(record.get(field_name), value)]
    for field_name, value in _facet(params, "exclude", fields):
        selected = [record for record in selected if not _facet_matches(record.get(field_name), value)]

    order_by = params.get("order_by", [""])[-1]
    for clause in reversed([part.strip() for part in order_by.split(",") if part.strip()]):
        field_name, _, direction = clause.partition(" ")
        direction = direction.strip().lower() or "asc"
        if field_name not in fields or direction not in ("asc", "desc"):
            raise ODSError("ODSQLError", f"Invalid order_by clause: {clause}")
        present = [record for record in selected if record.get(field_name) is not None]
        missing = [record for record in selected if record.get(field_name) is None]
        present.sort(key=lambda record, name=field_name: record[name], reverse=direction == "desc")
        selected = present + missing

    page = selected[offset : offset + limit]
    select = params.get("select", ["*"])[-1].strip()
    if select and select != "*":
        names = [name.strip() for name in select.split(",")]
        unknown = [name for name in names if name not in fields]
        if unknown:
            raise ODSError("ODSQLError", f"Unknown field: {unknown[0]}")
        page = [{name: record.get(name) for name in names} for record in page]
    return {"total_count": len(selected), "results": page}
