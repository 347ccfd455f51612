"""The management API's resolver: every router, the error bodies, and the OpenAPI document.

A new area of the API is one module with an ``APIGatewayHttpRouter`` and one line in :data:`ROUTERS`.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from shared.api import credit_notes, management, reconciliation, sync
from shared.api.errors import register_error_handlers

ROUTERS: list[APIGatewayHttpRouter] = [management.router, sync.router, credit_notes.router, reconciliation.router]
OPENAPI_PATH = "/v1/openapi.json"
TITLE = "Xero invoice sync: management API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Called by the platform backend, never by browsers. Every request is signed with AWS Signature "
    "Version 4 (service execute-api) by a principal allowed execute-api:Invoke on the route; unsigned "
    'or unauthorised requests get 403 from API Gateway. Errors are {"error": {"code", "message"}}.'
)
SIGV4_DESCRIPTION = "AWS Signature Version 4 (service execute-api); API Gateway checks it (AWS_IAM authorizer)"


def build_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    for router in ROUTERS:
        app.include_router(router)
    register_error_handlers(app)

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=openapi_document(app),
        )

    return app


def openapi_document(app: APIGatewayHttpResolver) -> str:
    # Powertools' OpenAPI models (~90 ms of imports) are needed only here, for the document, never to
    # answer the platform's calls: importing them on this route keeps them off every cold start.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn  # noqa: PLC0415

    sigv4 = APIKey(
        name="Authorization",
        in_=APIKeyIn.header,
        description=SIGV4_DESCRIPTION,
        openapi_extensions={"x-amazon-apigateway-authtype": "awsSigv4"},
    )
    return app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes={"sigv4": sigv4},
        security=[{"sigv4": []}],
    )
