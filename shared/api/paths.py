"""Platform ids in the management API's paths, as API Gateway and Powertools hand them over.

An HTTP API (payload 2.0) percent-decodes the request path once before the function sees it:
``rawPath`` (which Powertools' resolver routes on) and ``pathParameters`` both say ``/a/b`` for a
request to ``/a%2Fb``, and ``gst%15`` for ``gst%2515`` (captures: hotsock/voker's API Gateway v2
fixture, fastify/aws-lambda-fastify#169, honojs/hono#2156; AWS: "API Gateway decodes URL-encoded
request parameters before passing them to your backend integration"). Powertools passes each
``<name>`` segment of that path to the route as it is (aws-powertools/powertools-lambda-python#1098
added the characters API Gateway decodes to what a segment matches). So:

- a route never decodes an id again (``gst%15`` is the id ``gst%15``, not ``gst`` and a control);
- a ``<name>`` segment matches no ``/`` (nor ``#``, ``?``, ``"``, ``\\`` or a non-word character
  such as ``€``), and a platform id may hold them: each such route has a twin, one of Powertools'
  catch-all (regex) routes kept out of the OpenAPI document, that takes the id from the rest of the
  path. The id is the path's last segment or is followed by a fixed word, so this is unambiguous.

A client encodes the id once (``quote(id, safe="")``). An id holding ``?`` cannot be addressed in
a path through API Gateway (it is reported to cut the decoded path there): such tax mappings are set
with ``PUT /tax-mappings``.
"""

from __future__ import annotations

import re

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from shared.errors import RequestRefused

ID_MAX = 128  # the platform's ids (tax ids, invoice ids) are at most 128 characters

ACCOUNT_PREFIX = r"^/v1/accounts/[^/]+"


def catch_all(rule: str) -> str:
    """The catch-all twin of ``rule``: its ``<name>`` id segment (not the account) matches anything."""
    return re.sub(r"<(?!account_id>)\w+>", ".+", rule)


def id_in_path(router: APIGatewayHttpRouter, after: str, before: str = "") -> str:
    """The id between ``/<after>/`` and ``/<before>`` (or the end) of the request's decoded path."""
    tail = rf"/{re.escape(before)}$" if before else "$"
    found = re.match(rf"{ACCOUNT_PREFIX}/{re.escape(after)}/(?P<id>.+){tail}", router.current_event.path)
    if found is None:  # pragma: no cover - only the catch-all routes call this, and they matched
        raise RequestRefused("not_found", "No such route on this API.", status=404)
    value = found["id"]
    if len(value) > ID_MAX:
        raise RequestRefused("invalid_request", f"The request is not valid: an id has at most {ID_MAX} characters.")
    return value
