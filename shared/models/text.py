"""Normalising the text the platform sends before it can reach Xero.

Xero compares contact names (and invoice numbers) as it stores them: a name made only of zero-width
characters, or one that differs from another by an invisible character, a non-breaking space or a
decomposed accent, becomes a contact that looks like a duplicate of another. So every single-line
value (names, numbers, references, address lines, phone, tax number...) is:

1. refused if it holds NUL or another control character (a C0/C1 control that is not whitespace,
   or a lone surrogate): such a value is a bug upstream, and the refusal says which character;
2. stripped of invisible format characters: Unicode's format characters (category Cf: zero-width
   space and joiners, bidirectional controls, the byte-order mark, soft hyphens...) and the other
   default-ignorable code points (variation selectors, Hangul fillers, the combining grapheme
   joiner...), plus the blank braille pattern;
3. whitespace of any kind (CR, LF, tab, no-break and ideographic spaces...) becomes one space per
   run, and the ends are stripped;
4. put in Unicode NFC, so "é" is one character however it was typed.

A required value that is empty afterwards is refused. Line descriptions keep their line breaks (Xero
shows multi-line descriptions): CRLF, CR and the Unicode line separators become LF, and only the
other whitespace is collapsed, line by line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from pydantic_core import PydanticCustomError

# Default-ignorable code points that are not in category Cf (Unicode's DerivedCoreProperties), and
# U+2800, a braille cell with no dots, which renders as a blank.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"\s+")
_HORIZONTAL_SPACES = re.compile(r"[^\S\n]+")


def _invisible(char: str) -> bool:
    if unicodedata.category(char) == "Cf":
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _IGNORABLE_RANGES)


def _check_controls(value: str) -> None:
    for char in value:
        category = unicodedata.category(char)
        if (category == "Cc" and not char.isspace()) or category == "Cs":
            raise PydanticCustomError(
                "control_character",
                "contains the control character U+{code}, which Xero cannot show; remove it",
                {"code": f"{ord(char):04X}"},
            )


def _visible(value: str) -> str:
    _check_controls(value)
    return "".join(c for c in value if not _invisible(c))


def normalise_line(value: str) -> str:
    """One line of text as it may reach Xero (see the module's description); raises for controls."""
    return unicodedata.normalize("NFC", _SPACES.sub(" ", _visible(value)).strip())


def normalise_multiline(value: str) -> str:
    """Text whose line breaks matter (line descriptions): LF between lines, each line collapsed."""
    text = _LINE_BREAKS.sub("\n", _visible(value))
    lines = (_HORIZONTAL_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return unicodedata.normalize("NFC", "\n".join(lines).strip())


def _before(normalise: Callable[[str], str], *, required: bool) -> Callable[[Any], Any]:
    # A BeforeValidator: the field's own constraints (max_length...) then apply to the normalised
    # value, so NFC cannot overrun a limit.
    def validator(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        normalised = normalise(value)
        if required and not normalised:
            raise PydanticCustomError(
                "blank_text", "is blank once invisible characters and surrounding spaces are removed"
            )
        return normalised

    return validator


required_line = _before(normalise_line, required=True)
optional_line = _before(normalise_line, required=False)
required_multiline = _before(normalise_multiline, required=True)
