"""What Xero's GET lists take: paging, ``where=``, ID lists, ``summaryOnly``, ``If-Modified-Since``."""

from __future__ import annotations

import math
from typing import Any

from flask import request

from local.xero_sandbox.answers import query_parse_exception
from local.xero_sandbox.where import WhereError, parse_where

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def unitdp() -> int:
    return 4 if request.args.get("unitdp") == "4" else 2


def paged(items: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """A page of ``items`` when ``page`` is given (100 a page, or ``pageSize`` up to 1,000)."""
    if "page" not in request.args:
        return items, {}
    try:
        page = max(1, int(request.args["page"]))
        size = min(MAX_PAGE_SIZE, max(1, int(request.args.get("pageSize", PAGE_SIZE))))
    except ValueError:
        page, size = 1, PAGE_SIZE
    chosen = items[(page - 1) * size : page * size]
    pagination = {"page": page, "pageSize": size, "pageCount": math.ceil(len(items) / size), "itemCount": len(items)}
    return chosen, {"pagination": pagination}


def where_clause(fields: frozenset[str], type_name: str, known: frozenset[str] = frozenset()) -> Any:
    """The parsed ``where=``, None without one, or Xero's 400 ``QueryParseException``."""
    text = request.args.get("where")
    if not text:
        return None
    try:
        return parse_where(text, fields, type_name, known)
    except WhereError as exc:
        return query_parse_exception(str(exc))


def id_list(name: str) -> set[str] | None:
    raw = request.args.get(name)
    if not raw:
        return None
    return {part.strip().lower() for part in raw.split(",") if part.strip()}
