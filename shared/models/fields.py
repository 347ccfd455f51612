"""Field types the event contract and the management API share, without either loading the other.

The settings page and the management API validate platform ids and dimension names as the events
carry them; importing :mod:`shared.models.events` for three annotations would build the whole event
contract at their cold start.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from shared.models.text import required_line

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")]
# A line's dimensions (location, department...) and their values, e.g. {"location": "Wellington"}: text
# like any other (normalised, never blank). Xero tracking names and options hold 100 characters.
DimensionName = Annotated[str, BeforeValidator(required_line), StringConstraints(min_length=1, max_length=100)]
DimensionValue = Annotated[str, BeforeValidator(required_line), StringConstraints(min_length=1, max_length=100)]
