"""Routes of the account settings: connection, organisation, payment account, tax, products, tracking,
settings, disconnect.

Each route validates its input with the models of :mod:`shared.models.api` and makes one call to the
:class:`~shared.domain.management.ManagementService`; the app turns domain errors into error bodies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from shared import wiring
from shared.api.errors import responses
from shared.api.paths import catch_all, id_in_path
from shared.models import api

if TYPE_CHECKING:
    from shared.domain.management import ManagementService

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

ACCOUNT = "/v1/accounts/<account_id>"
AccountId = Annotated[
    str, Path(min_length=1, max_length=128, description="The platform's id of the account (its business)")
]
PlatformTaxIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=api.PLATFORM_TAX_ID_MAX,
        description="The platform's tax id, percent-encoded once in the path (quote(id, safe=''))",
    ),
]
TAX_MAPPING = f"{ACCOUNT}/tax-mappings/<platform_tax_id>"
ProductIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="The platform's product id, as invoice lines carry it, percent-encoded once in the path",
    ),
]
DimensionPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="The platform's dimension (location, department), percent-encoded once in the path",
    ),
]
PRODUCT_MAPPING = f"{ACCOUNT}/product-mappings/<product_id>"
TRACKING_MAPPING = f"{ACCOUNT}/tracking-mappings/<dimension>"
Refresh = Annotated[bool, Query(description="Read Xero now instead of the few-minute cache")]
READ_ERRORS = responses(404, 409, 502, 503)
WRITE_ERRORS = responses(404, 409, 422, 502, 503)
TAGS = ["Account settings"]


@router.get(f"{ACCOUNT}/connection", summary="Connection status", tags=TAGS, responses=responses(404, 503))
def get_connection(account_id: AccountId) -> api.ConnectionView:
    """Status (connected, needs_reconnect, disconnected, not_connected), organisations, scopes, and when
    the inactivity sweep will warn and disconnect."""
    return _service().connection(account_id)


@router.get(f"{ACCOUNT}/organisations", summary="Organisations granted at consent", tags=TAGS, responses=READ_ERRORS)
def get_organisations(account_id: AccountId) -> api.OrganisationsView:
    return _service().organisations(account_id)


@router.put(f"{ACCOUNT}/organisation", summary="Choose the organisation", tags=TAGS, responses=WRITE_ERRORS)
def put_organisation(account_id: AccountId, body: Annotated[api.ChooseOrganisation, Body()]) -> api.OrganisationChoice:
    """Only an organisation granted at consent can be chosen. Choosing a different one clears the
    settings that were checked against the previous one."""
    choice = _service().choose_organisation(account_id, body.tenant_id)
    # Events parked while no organisation was chosen can go now.
    wiring.requeue().release_parked(account_id)
    return choice


@router.get(f"{ACCOUNT}/payment-accounts", summary="Accounts payments can go to", tags=TAGS, responses=READ_ERRORS)
def get_payment_accounts(account_id: AccountId, refresh: Refresh = False) -> api.PaymentAccountsView:
    """Active BANK accounts and active accounts with payments enabled; ``help`` says how to enable more."""
    return _service().payment_accounts(account_id, refresh=refresh)


@router.put(f"{ACCOUNT}/payment-account", summary="Choose the payment account", tags=TAGS, responses=WRITE_ERRORS)
def put_payment_account(account_id: AccountId, body: Annotated[api.ChoosePaymentAccount, Body()]) -> api.SettingsView:
    """Checked against Xero's current chart of accounts (never the cache)."""
    return _service().choose_payment_account(account_id, body)


@router.get(f"{ACCOUNT}/tax-rates", summary="Xero tax rates usable on sales", tags=TAGS, responses=READ_ERRORS)
def get_tax_rates(account_id: AccountId, refresh: Refresh = False) -> api.TaxRatesView:
    return _service().tax_rates(account_id, refresh=refresh)


@router.get(f"{ACCOUNT}/tax-mappings", summary="Tax mappings", tags=TAGS, responses=READ_ERRORS)
def get_tax_mappings(account_id: AccountId) -> api.TaxMappingsView:
    return _service().tax_mappings(account_id)


@router.put(f"{ACCOUNT}/tax-mappings", summary="Replace every tax mapping", tags=TAGS, responses=WRITE_ERRORS)
def put_tax_mappings(account_id: AccountId, body: Annotated[api.ReplaceTaxMappings, Body()]) -> api.TaxMappingsView:
    """Each TaxType must exist in Xero, be active and apply to revenue; none is ever created in Xero."""
    return _service().replace_tax_mappings(account_id, body)


# API Gateway has already decoded the path, and Powertools passes the segment on as it is: the id
# is used as received, never decoded again (shared.api.paths).
@router.put(TAX_MAPPING, summary="Create or change one mapping", tags=TAGS, responses=WRITE_ERRORS)
def put_tax_mapping(
    account_id: AccountId, platform_tax_id: PlatformTaxIdPath, body: Annotated[api.SetTaxMapping, Body()]
) -> api.TaxMappingView:
    return _service().set_tax_mapping(account_id, platform_tax_id, body.tax_type)


@router.put(catch_all(TAX_MAPPING), include_in_schema=False)
def put_tax_mapping_any_id(account_id: AccountId, body: Annotated[api.SetTaxMapping, Body()]) -> api.TaxMappingView:
    """The same, for an id a path segment cannot match (one with "/", "#", "€"...)."""
    return put_tax_mapping(account_id, id_in_path(router, "tax-mappings"), body)


@router.delete(TAX_MAPPING, summary="Delete one mapping", tags=TAGS, responses=READ_ERRORS)
def delete_tax_mapping(account_id: AccountId, platform_tax_id: PlatformTaxIdPath) -> api.TaxMappingsView:
    return _service().delete_tax_mapping(account_id, platform_tax_id)


@router.delete(catch_all(TAX_MAPPING), include_in_schema=False)
def delete_tax_mapping_any_id(account_id: AccountId) -> api.TaxMappingsView:
    return delete_tax_mapping(account_id, id_in_path(router, "tax-mappings"))


@router.get(f"{ACCOUNT}/items", summary="Xero items that are sold", tags=TAGS, responses=READ_ERRORS)
def get_items(account_id: AccountId, refresh: Refresh = False) -> api.ItemsView:
    """Xero's items (products and services) that are sold, with each one's own sales account."""
    return _service().items(account_id, refresh=refresh)


@router.get(f"{ACCOUNT}/product-mappings", summary="Product mappings", tags=TAGS, responses=READ_ERRORS)
def get_product_mappings(account_id: AccountId) -> api.ProductMappingsView:
    return _service().product_mappings(account_id)


@router.put(f"{ACCOUNT}/product-mappings", summary="Replace every product mapping", tags=TAGS, responses=WRITE_ERRORS)
def put_product_mappings(
    account_id: AccountId, body: Annotated[api.ReplaceProductMappings, Body()]
) -> api.ProductMappingsView:
    """Each item must be listed and sold in Xero, each account usable on invoice lines (checked now)."""
    return _service().replace_product_mappings(account_id, body)


@router.put(PRODUCT_MAPPING, summary="Create or change one product mapping", tags=TAGS, responses=WRITE_ERRORS)
def put_product_mapping(
    account_id: AccountId, product_id: ProductIdPath, body: Annotated[api.SetProductMapping, Body()]
) -> api.ProductMappingView:
    return _service().set_product_mapping(account_id, product_id, body)


@router.put(catch_all(PRODUCT_MAPPING), include_in_schema=False)
def put_product_mapping_any_id(
    account_id: AccountId, body: Annotated[api.SetProductMapping, Body()]
) -> api.ProductMappingView:
    """The same, for an id a path segment cannot match (one with "/")."""
    return put_product_mapping(account_id, id_in_path(router, "product-mappings"), body)


@router.delete(PRODUCT_MAPPING, summary="Delete one product mapping", tags=TAGS, responses=READ_ERRORS)
def delete_product_mapping(account_id: AccountId, product_id: ProductIdPath) -> api.ProductMappingsView:
    return _service().delete_product_mapping(account_id, product_id)


@router.delete(catch_all(PRODUCT_MAPPING), include_in_schema=False)
def delete_product_mapping_any_id(account_id: AccountId) -> api.ProductMappingsView:
    return delete_product_mapping(account_id, id_in_path(router, "product-mappings"))


@router.get(
    f"{ACCOUNT}/tracking-categories", summary="Xero's active tracking categories", tags=TAGS, responses=READ_ERRORS
)
def get_tracking_categories(account_id: AccountId, refresh: Refresh = False) -> api.TrackingCategoriesView:
    """Active categories (Xero allows 2) with their active options: Xero drops an archived one silently."""
    return _service().tracking_categories(account_id, refresh=refresh)


@router.get(f"{ACCOUNT}/tracking-mappings", summary="Tracking mappings", tags=TAGS, responses=READ_ERRORS)
def get_tracking_mappings(account_id: AccountId) -> api.TrackingMappingsView:
    return _service().tracking_mappings(account_id)


@router.put(f"{ACCOUNT}/tracking-mappings", summary="Replace every tracking mapping", tags=TAGS, responses=WRITE_ERRORS)
def put_tracking_mappings(
    account_id: AccountId, body: Annotated[api.ReplaceTrackingMappings, Body()]
) -> api.TrackingMappingsView:
    """Each dimension to its own active Xero category, each value to an active option (checked now)."""
    return _service().replace_tracking_mappings(account_id, body)


@router.put(TRACKING_MAPPING, summary="Create or change one dimension's mapping", tags=TAGS, responses=WRITE_ERRORS)
def put_tracking_mapping(
    account_id: AccountId, dimension: DimensionPath, body: Annotated[api.SetTrackingMapping, Body()]
) -> api.TrackingMappingView:
    return _service().set_tracking_mapping(account_id, dimension, body)


@router.put(catch_all(TRACKING_MAPPING), include_in_schema=False)
def put_tracking_mapping_any_name(
    account_id: AccountId, body: Annotated[api.SetTrackingMapping, Body()]
) -> api.TrackingMappingView:
    """The same, for a name a path segment cannot match (a space, "/", "é"...)."""
    return put_tracking_mapping(account_id, id_in_path(router, "tracking-mappings"), body)


@router.delete(TRACKING_MAPPING, summary="Delete one dimension's mapping", tags=TAGS, responses=READ_ERRORS)
def delete_tracking_mapping(account_id: AccountId, dimension: DimensionPath) -> api.TrackingMappingsView:
    return _service().delete_tracking_mapping(account_id, dimension)


@router.delete(catch_all(TRACKING_MAPPING), include_in_schema=False)
def delete_tracking_mapping_any_name(account_id: AccountId) -> api.TrackingMappingsView:
    return delete_tracking_mapping(account_id, id_in_path(router, "tracking-mappings"))


@router.get(f"{ACCOUNT}/settings", summary="Settings", tags=TAGS, responses=READ_ERRORS)
def get_settings(account_id: AccountId) -> api.SettingsView:
    return _service().settings(account_id)


@router.patch(f"{ACCOUNT}/settings", summary="Change settings", tags=TAGS, responses=WRITE_ERRORS)
def patch_settings(account_id: AccountId, body: Annotated[api.SettingsPatch, Body()]) -> api.SettingsView:
    """Any of the sales account code (checked: exists, active, usable on invoice lines), the default tax
    type, the alert recipients (empty: the Xero user who connected) and unmapped_dimensions."""
    return _service().update_settings(account_id, body)


@router.post(f"{ACCOUNT}/disconnect", summary="Disconnect from Xero", tags=TAGS, responses=READ_ERRORS)
def post_disconnect(account_id: AccountId) -> api.DisconnectView:
    """Removes the organisation connections at Xero, revokes the grant, marks the connection
    disconnected. Settings are kept for a reconnect."""
    return _service().disconnect(account_id)


def _service() -> ManagementService:
    service: ManagementService = wiring.management()
    return service
