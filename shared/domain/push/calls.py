"""Xero calls in batches: writes of up to 50 elements and 3 MB a call, with ``summarizeErrors=false``
so each element succeeds or fails alone; lookups whose URLs stay short enough for Xero.

Xero answers 404 to a URL longer than about 2,091 characters (XeroAPI/Xero-NetStandard#471,
XeroAPI/xero-node#404, XeroAPI/Xero-OpenAPI#534), so a lookup by many ids or numbers is split by the
length of the URL it makes, not only by count. A ``where`` clause never carries a value with a
double quote or a backslash: Xero's filter has no reliable escape for them (XeroAPI/Xero-Java#347),
so such values are looked up another way (``searchTerm``) or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from shared.adapters.xero import MAX_URL_LENGTH, dumps
from shared.errors import XeroUnavailable, XeroValidationError

if TYPE_CHECKING:
    from shared.domain.xero_session import XeroSession

T = TypeVar("T")
PER_CALL = 50
# Xero takes at most 3.5 MB a request; batches are cut at 3 MB so headers and rounding never matter.
BODY_BUDGET_BYTES = 3_000_000
ELEMENT_PARAMS = {"summarizeErrors": "false"}
INVOICE_PARAMS = {"summarizeErrors": "false", "unitdp": "4"}
Result = tuple[dict[str, Any] | None, list[str]]


def chunks(items: Iterable[T], size: int = PER_CALL) -> list[list[T]]:
    listed = list(items)
    return [listed[i : i + size] for i in range(0, len(listed), size)]


def by_size(items: Sequence[T], element: Callable[[T], dict[str, Any]]) -> list[list[T]]:
    """Batches of at most 50 elements and :data:`BODY_BUDGET_BYTES` of JSON each."""
    batches: list[list[T]] = []
    current: list[T] = []
    size = 0
    for item in items:
        length = len(dumps(element(item))) + 1
        if current and (len(current) == PER_CALL or size + length > BODY_BUDGET_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += length
    if current:
        batches.append(current)
    return batches


def write(
    session: XeroSession,
    method: Literal["PUT", "POST"],
    resource: str,
    elements: list[dict[str, Any]],
    identities: list[str],
    params: dict[str, str] = ELEMENT_PARAMS,
    key: str | None = None,
) -> list[Result]:
    """Send one batch; per element, Xero's answer or its validation messages. ``key`` names the body's
    array when it is not the resource (``{"Allocations": [...]}`` to ``CreditNotes/{id}/Allocations``)."""
    if not elements:
        return []
    name = key or resource
    try:
        answer = session.write(method, resource, {name: elements}, identities=identities, params=params)
    except XeroValidationError as exc:
        if len(elements) == 1:
            return [(None, exc.messages or [str(exc)])]
        # The whole request was refused: send each element alone so only the bad one fails.
        return [
            result
            for element, identity in zip(elements, identities, strict=True)
            for result in write(session, method, resource, [element], [identity], params, key)
        ]
    returned = answer.get(name, [])
    if len(returned) != len(elements):
        raise XeroUnavailable(f"Xero answered {len(returned)} {name} for {len(elements)} sent", 200)
    results: list[Result] = []
    for element in returned:
        messages = [str(e.get("Message", "")) for e in element.get("ValidationErrors", []) if isinstance(e, dict)]
        failed = messages or element.get("StatusAttributeString") == "ERROR" or element.get("HasErrors")
        results.append((None, messages or ["Xero refused it without a message"]) if failed else (element, []))
    return results


def plain(value: str) -> bool:
    """Whether ``value`` can be put in a ``where`` string as it is."""
    return '"' not in value and "\\" not in value


def where_equals(field: str, values: Iterable[str]) -> str:
    """``Field=="a" OR Field=="b"``: only for :func:`plain` values."""
    listed = list(values)
    assert all(plain(v) for v in listed), "a where value with a quote or backslash"
    return " OR ".join(f'{field}=="{v}"' for v in listed)


def fitting(
    session: XeroSession,
    resource: str,
    values: Sequence[str],
    params_for: Callable[[list[str]], dict[str, str]],
    most: int = PER_CALL,
) -> list[list[str]]:
    """``values`` cut into groups whose lookup URL (``params_for(group)``) stays under Xero's limit."""
    groups: list[list[str]] = []
    current: list[str] = []
    for value in values:
        trial = [*current, value]
        if current and (len(trial) > most or session.url_length(resource, params_for(trial)) > MAX_URL_LENGTH):
            groups.append(current)
            trial = [value]
        current = trial
    if current:
        groups.append(current)
    return groups
