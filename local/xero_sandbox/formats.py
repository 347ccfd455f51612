"""Xero's wire formats: exact JSON numbers, its JSON dates, money rounded half away from zero.

Money never passes through a float: request bodies are parsed with ``parse_float=Decimal`` and answers
are written by :func:`to_json`, which writes a Decimal as the unquoted JSON number it is (Xero's
answers carry numbers, never strings), so 100000000000000.01 comes back as 100000000000000.01.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

CENT = Decimal("0.01")
FOUR_DP = Decimal("0.0001")
EPOCH = date(1970, 1, 1)
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def four_dp(value: Decimal) -> Decimal:
    return value.quantize(FOUR_DP, rounding=ROUND_HALF_UP)


def decimal(value: Any) -> Decimal | None:
    """A JSON number (or numeric string, as Xero accepts) as a Decimal; None when absent or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def number(value: Decimal) -> Decimal:
    """A money value as it goes out: the Decimal itself, which :func:`to_json` writes as an exact JSON
    number, like Xero's answers (never a string, never a float)."""
    return value


def from_json(raw: bytes | str) -> Any:
    """A JSON body with every non-integer number as a Decimal, so nothing is lost on the way in."""
    return json.loads(raw, parse_float=Decimal)


def to_json(value: Any) -> str:
    """JSON text of ``value`` with Decimals written exactly as numbers (``json.dumps`` can only write
    them through ``float``). Separators and escaping are ``json.dumps``'s defaults."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        out.append(format(value, "f"))
    elif isinstance(value, int | float):
        out.append(json.dumps(value))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            out.append(", " if index else "")
            out.append(_encode_string(key))
            out.append(": ")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            out.append(", " if index else "")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_encode_string = json.encoder.encode_basestring_ascii


def ms_date(day: date) -> str:
    """A date as Xero writes it: ``/Date(1552262400000+0000)/`` (midnight UTC)."""
    return f"/Date({(day - EPOCH).days * 86_400_000}+0000)/"


def date_string(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def ms_timestamp(epoch_seconds: float) -> str:
    """An instant, as Xero writes ``UpdatedDateUTC``: ``/Date(1552327126117+0000)/``."""
    return f"/Date({int(epoch_seconds * 1000)}+0000)/"


def envelope_timestamp(epoch_seconds: float) -> str:
    """``DateTimeUTC`` of an answer's envelope carries no offset: ``/Date(1552432238716)/``."""
    return f"/Date({int(epoch_seconds * 1000)})/"


def iso_timestamp(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_date(value: Any) -> date | None:
    """Dates as Xero accepts them: ``2026-01-31``, ``2026-01-31T00:00:00`` or ``/Date(ms+0000)/``."""
    if not isinstance(value, str) or not value:
        return None
    found = _MS_DATE.match(value)
    if found:
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(found.group(1)))).date()
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_ms_timestamp(value: Any) -> float | None:
    """Unix seconds of ``/Date(1552327126117+0000)/``; None if it is not one."""
    found = _MS_DATE.match(value) if isinstance(value, str) else None
    return int(found.group(1)) / 1000 if found else None


def parse_instant(value: str) -> float | None:
    """Unix seconds of an ``If-Modified-Since`` value as Xero takes it: ISO 8601 (``2009-11-12T00:00:00``,
    UTC unless an offset or ``Z`` is given, fractions allowed) or an HTTP date
    (``Thu, 12 Nov 2009 00:00:00 GMT``). None when it is neither."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def today(epoch_seconds: float) -> date:
    return datetime.fromtimestamp(epoch_seconds, UTC).date()
