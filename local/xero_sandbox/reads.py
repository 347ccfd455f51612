"""What Xero's GET lists take: paging, ``where=``, ID lists, ``summaryOnly``, ``If-Modified-Since``."""

from __future__ import annotations

import math
from typing import Any

from flask import Response, request

from local.xero_sandbox.answers import api_error, query_parse_exception
from local.xero_sandbox.formats import parse_instant
from local.xero_sandbox.where import WhereError, parse_where

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def flag(name: str) -> bool:
    """A boolean query parameter (``summaryOnly=true``, ``createdByMyApp=true``)."""
    return request.args.get(name, "false").strip().lower() == "true"


def modified_since() -> float | Response | None:
    """The ``If-Modified-Since`` header as Unix seconds, None without one, or a 400 for one Xero could
    not read (the sandbox's choice: Xero's answer to an unreadable value is not documented)."""
    raw = request.headers.get("If-Modified-Since")
    if not raw:
        return None
    since = parse_instant(raw)
    if since is None:
        return api_error(
            400, "Bad Request", f"If-Modified-Since must be a UTC timestamp such as 2009-11-12T00:00:00: {raw!r}"
        )
    return since


def unitdp() -> int:
    return 4 if request.args.get("unitdp") == "4" else 2


def paged(items: list[Any], *, always: bool = False) -> tuple[list[Any], dict[str, Any]]:
    """A page of ``items`` when ``page`` is given, or ``always`` (page 1 by default): 100 a page, or
    ``pageSize`` up to 1,000, with Xero's ``pagination`` object."""
    if "page" not in request.args and not always:
        return items, {}
    try:
        page = max(1, int(request.args.get("page", 1)))
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
