"""Xero's ``where=`` filters, parsed the way Xero parses them.

Xero's where syntax is Dynamic LINQ's, and so are its errors (``Syntax error``, ``Unterminated
string literal``, ``No property or field 'Bat' exists in type 'Contact'``: waynerobinson/xeroizer#160,
XeroAPI/Xero-Java#347, dcblogdev/laravel-xero#83), answered as ``400 {"ErrorNumber": 16,
"Type": "QueryParseException", "Message": ...}``. In a Dynamic LINQ string literal a double quote is
written twice (``Name=="O""Brien Ltd"``) and a backslash is an ordinary character, so ``\\"`` ends the
string and what follows is a syntax error (Xero-Java#347: backslash escapes answer ``Syntax error``).

The sandbox takes equality terms ``Field=="text"``, ``Field=guid("...")``, ``Field==true|false``
joined by ``OR``/``AND`` (``||``/``&&``, any case; AND binds tighter). Method calls
(``Name.Contains("A")``), other operators and parentheses are Xero's but not the sandbox's: refused
with the sandbox's own message. ``Name`` (and ``Contact.Name``) compare case- and accent-insensitively
(Xero's database collation: ``Name=="cafe"`` finds "Café"); everything else compares exactly, GUIDs
in any case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from typing import Any

SYNTAX_ERROR = "Syntax error"  # Xero's (Dynamic LINQ's)
UNTERMINATED = "Unterminated string literal"  # Xero's (Dynamic LINQ's)
INSENSITIVE_FIELDS = frozenset({"Name", "Contact.Name"})

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s*")

Clause = list[list[tuple[str, str | bool]]]  # OR of ANDs of (field, value)


class WhereError(ValueError):
    """A where clause Xero (or the sandbox) refuses; ``xero`` tells whether the words are Xero's."""

    def __init__(self, message: str, *, xero: bool = True) -> None:
        super().__init__(message)
        self.xero = xero


def no_such_field(field: str, type_name: str) -> str:  # Xero's (Dynamic LINQ's)
    return f"No property or field '{field}' exists in type '{type_name}'"


def unsupported(what: str) -> str:
    return f"The sandbox's where= takes only equality terms joined by OR / AND; not supported: {what}"


def parse_where(text: str, fields: Collection[str], type_name: str, known: Collection[str] = ()) -> Clause:
    """The terms of ``text``. ``fields`` are those the sandbox compares; ``known`` are further fields
    of Xero's type the sandbox cannot compare (refused with the sandbox's message, not Xero's)."""
    parser = _Parser(text)
    clause: Clause = [[]]
    while True:
        field, value = parser.term()
        if field not in fields:
            if field in known:
                raise WhereError(unsupported(f"filtering on {field}"), xero=False)
            raise WhereError(no_such_field(field, type_name))
        clause[-1].append((field, value))
        join = parser.join()
        if join is None:
            return clause
        if join == "or":
            clause.append([])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def term(self) -> tuple[str, str | bool]:
        self._skip()
        found = _FIELD.match(self.text, self.at)
        if found is None:
            raise WhereError(SYNTAX_ERROR)
        self.at = found.end()
        self._skip()
        if self._peek("("):
            raise WhereError(unsupported(f"the method call {found.group()}(...)"), xero=False)
        if self._take("=="):
            pass
        elif self._peek("=") and not self._peek("=>"):
            self.at += 1
        elif any(self._peek(op) for op in ("!=", "<>", "<", ">")):
            raise WhereError(unsupported(f"the operator after {found.group()}"), xero=False)
        else:
            raise WhereError(SYNTAX_ERROR)
        return found.group(), self._value()

    def join(self) -> str | None:
        self._skip()
        if self.at >= len(self.text):
            return None
        if self._take("||"):
            return "or"
        if self._take("&&"):
            return "and"
        word = _WORD.match(self.text, self.at)
        if word is not None and word.group().lower() in ("or", "and"):
            self.at = word.end()
            return word.group().lower()
        raise WhereError(SYNTAX_ERROR)

    def _value(self) -> str | bool:
        self._skip()
        if self._peek('"'):
            return self._string()
        word = _WORD.match(self.text, self.at)
        if word is None:
            raise WhereError(SYNTAX_ERROR)
        name = word.group().lower()
        self.at = word.end()
        if name in ("true", "false"):
            return name == "true"
        if name == "guid":
            self._skip()
            if not self._take("("):
                raise WhereError(SYNTAX_ERROR)
            self._skip()
            if not self._peek('"'):
                raise WhereError(SYNTAX_ERROR)
            value = self._string().lower()
            self._skip()
            if not self._take(")"):
                raise WhereError(SYNTAX_ERROR)
            return value
        raise WhereError(SYNTAX_ERROR)

    def _string(self) -> str:
        """A double-quoted literal in which ``""`` stands for one ``"``."""
        parts = []
        start = self.at + 1
        while True:
            end = self.text.find('"', start)
            if end < 0:
                raise WhereError(UNTERMINATED)
            parts.append(self.text[start:end])
            if self.text.startswith('"', end + 1):
                parts.append('"')
                start = end + 2
                continue
            self.at = end + 1
            return "".join(parts)

    def _skip(self) -> None:
        found = _SPACE.match(self.text, self.at)
        self.at = found.end() if found else self.at

    def _peek(self, token: str) -> bool:
        return self.text.startswith(token, self.at)

    def _take(self, token: str) -> bool:
        if self._peek(token):
            self.at += len(token)
            return True
        return False


def quote(value: str) -> str:
    """``value`` as a where string literal, the way Xero reads one."""
    return '"' + value.replace('"', '""') + '"'


def where_matches(clause: Clause, fields: dict[str, Any]) -> bool:
    return any(all(_equal(name, fields.get(name), value) for name, value in conjunction) for conjunction in clause)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: ``Café`` and ``CAFE`` fold alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _equal(name: str, actual: Any, wanted: str | bool) -> bool:
    if isinstance(wanted, bool):
        return actual is wanted
    if not isinstance(actual, str):
        return False
    if name in INSENSITIVE_FIELDS:
        return fold(actual) == fold(wanted)
    if _looks_like_guid(wanted):
        return actual.lower() == wanted.lower()
    return actual == wanted


def _looks_like_guid(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4
