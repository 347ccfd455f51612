"""What the management API does for a platform account: its connection, its organisation, the Xero
accounts, tax rates, items and tracking categories its invoices use, its alert recipients, and
disconnecting. Product and tracking mappings are checked by :mod:`shared.domain.product_settings`.

Reads of Xero's reference data go through a shared cache of a few minutes; every settings write is
checked against fresh data from Xero first, and then stored in one conditional write (the
settings' optimistic lock), so a refused or failed request leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.adapters.connections import ConnectionRepository
from shared.adapters.settings import SettingsRepository
from shared.adapters.xero import XeroClient
from shared.adapters.xero_cache import XeroReadCache
from shared.domain import product_settings
from shared.domain.disconnect import Disconnector
from shared.domain.tokens import TokenManager
from shared.errors import (
    ConnectionUnavailable,
    OrganisationNotChosen,
    RequestRefused,
    SyncError,
    UnknownAccount,
    XeroUnauthorized,
)
from shared.models import api
from shared.models.chart import XeroAccount, XeroItem, XeroTaxRate, XeroTrackingCategory
from shared.models.connection import Connection, ConnectionStatus, Tenant, utc_now
from shared.models.fields import DimensionName, Identifier
from shared.models.settings import ORGANISATION_SETTINGS, AccountSettings, PaymentAccount, ProductMapping, TaxMapping
from shared.observability import logger

ACCOUNTS = "accounts"
TAX_RATES = "tax_rates"
ITEMS = "items"
TRACKING_CATEGORIES = "tracking_categories"
# Archived categories and options are read too, so a refusal can say "archived" rather than "unknown".
WITH_ARCHIVED = {"includeArchived": "true"}
REFERENCE_MODELS: dict[str, type[XeroAccount | XeroTaxRate | XeroItem | XeroTrackingCategory]] = {
    ACCOUNTS: XeroAccount,
    TAX_RATES: XeroTaxRate,
    ITEMS: XeroItem,
    TRACKING_CATEGORIES: XeroTrackingCategory,
}
DISCONNECT_REASON = "disconnected through the management API"
PAYMENTS_HELP = (
    "Only active bank accounts, and active accounts with payments enabled, can receive payments. "
    "To enable payments on an account in Xero: Accounting > Chart of accounts > click the account > "
    'tick "Enable payments to this account" > Save. This list can take up to 5 minutes to show it; '
    "choosing the account by its code works at once."
)


class ManagementService:
    def __init__(
        self,
        connections: ConnectionRepository,
        settings: SettingsRepository,
        tokens: TokenManager,
        xero: XeroClient,
        cache: XeroReadCache,
        disconnector: Disconnector,
        *,
        on_ready: Callable[[str], object] = lambda account_id: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._connections = connections
        self._settings = settings
        self._tokens = tokens
        self._xero = xero
        self._cache = cache
        self._disconnector = disconnector
        self._on_ready = on_ready
        self._clock = clock

    # --- connection and organisations ----------------------------------------------------------

    def connection(self, account_id: str) -> api.ConnectionView:
        connection = self._connections.get(account_id)
        if connection is None:
            return api.ConnectionView(account_id=account_id, status="not_connected")
        connected = connection.status == ConnectionStatus.CONNECTED
        policy = self._connections.policy
        chosen = connection.tenant
        return api.ConnectionView(
            account_id=account_id,
            status=_state(connection.status),
            status_reason=connection.status_reason,
            organisation=_organisation(chosen, chosen=True) if chosen else None,
            organisations=_organisations(connection),
            scopes=list(connection.scopes),
            connected_email=connection.connected_email,
            connected_at=connection.connected_at,
            last_activity_at=connection.last_activity_at,
            warn_on=date.fromisoformat(policy.warn_on(connection.last_activity_at)) if connected else None,
            disconnect_on=date.fromisoformat(policy.disconnect_on(connection.last_activity_at)) if connected else None,
            **_organisation_change(self._settings.get(account_id)),
        )

    def organisations(self, account_id: str) -> api.OrganisationsView:
        connection = self._known(account_id)
        return api.OrganisationsView(
            account_id=account_id, chosen_tenant_id=connection.tenant_id, organisations=_organisations(connection)
        )

    def choose_organisation(self, account_id: str, tenant_id: str) -> api.OrganisationChoice:
        connection = self._connected(account_id)
        tenant = next((t for t in connection.tenants if t.tenant_id == tenant_id), None)
        if tenant is None:
            raise RequestRefused(
                "tenant_not_granted",
                f"The organisation {tenant_id} was not granted when this account connected Xero; "
                "choose one of its organisations, or reconnect and grant it.",
            )
        cleared: list[str] = []
        if connection.tenant_id != tenant_id:
            settings = self._settings.get(account_id)
            cleared = [name for name in ORGANISATION_SETTINGS if getattr(settings, name)]
            emptied = settings.for_another_organisation(self._clock())
            self._settings.save_choosing_tenant(emptied, tenant_id, now=self._clock())
            self._record_activity(account_id)
            logger.info("organisation chosen", extra={"account_id": account_id, "tenant_id": tenant_id})
        return api.OrganisationChoice(
            account_id=account_id, organisation=_organisation(tenant, chosen=True), cleared_settings=cleared
        )

    # --- payment account -----------------------------------------------------------------------

    def payment_accounts(self, account_id: str, *, refresh: bool = False) -> api.PaymentAccountsView:
        connection, tenant_id = self._organisation_of(account_id)
        chosen = self._settings.get(account_id).payment_account
        chosen_id = chosen.account_id if chosen else None
        options = [
            api.PaymentAccountOption(
                xero_account_id=a.account_id,
                code=a.code,
                name=a.name,
                type=a.type,
                bank_account_number=a.bank_account_number,
                chosen=a.account_id == chosen_id,
            )
            for a in self._accounts(connection, tenant_id, fresh=refresh)
            if a.active and a.takes_payments
        ]
        options.sort(key=lambda o: (o.code or "", o.name))
        return api.PaymentAccountsView(
            account_id=account_id, accounts=options, chosen_account_id=chosen_id, help=PAYMENTS_HELP
        )

    def choose_payment_account(self, account_id: str, choice: api.ChoosePaymentAccount) -> api.SettingsView:
        connection, tenant_id = self._organisation_of(account_id)
        settings = self._settings.get(account_id)
        accounts = self._accounts(connection, tenant_id, fresh=True)
        if choice.account_id is not None:
            found = next((a for a in accounts if a.account_id == choice.account_id), None)
            named = f"AccountID {choice.account_id}"
        else:
            found = next((a for a in accounts if a.code == choice.code), None)
            named = f"code {choice.code}"
        if found is None:
            raise RequestRefused("payment_account_not_found", f"Xero has no account with {named} in this organisation.")
        label = _account_label(found)
        if not found.active:
            raise RequestRefused(
                "payment_account_archived",
                f"The account {label} is {found.status.lower()} in Xero; payments need an active one.",
            )
        if not found.takes_payments:
            raise RequestRefused(
                "payment_account_not_enabled",
                f"The account {label} is neither a bank account nor has payments enabled in Xero. {PAYMENTS_HELP}",
            )
        chosen = PaymentAccount(account_id=found.account_id, code=found.code, name=found.name, type=found.type)
        return self._save(connection, settings.model_copy(update={"payment_account": chosen}))

    def sales_accounts(self, account_id: str, *, refresh: bool = False) -> list[XeroAccount]:
        """The accounts invoice lines can go to (``sales_account_code``): active, neither bank nor system."""
        connection, tenant_id = self._organisation_of(account_id)
        usable = [
            a
            for a in self._accounts(connection, tenant_id, fresh=refresh)
            if a.active and a.code and a.type != "BANK" and not a.system_account
        ]
        return sorted(usable, key=lambda a: (a.type != "REVENUE", a.code or ""))

    # --- tax rates and mappings ----------------------------------------------------------------

    def tax_rates(self, account_id: str, *, refresh: bool = False) -> api.TaxRatesView:
        connection, tenant_id = self._organisation_of(account_id)
        rates = [
            api.TaxRateView(
                tax_type=r.tax_type, name=r.name, effective_rate=r.effective_rate, display_tax_rate=r.display_tax_rate
            )
            for r in self._tax_rates(connection, tenant_id, fresh=refresh)
            if r.usable_on_sales
        ]
        return api.TaxRatesView(account_id=account_id, tax_rates=rates)

    def tax_mappings(self, account_id: str) -> api.TaxMappingsView:
        self._known(account_id)
        return _mappings_view(self._settings.get(account_id))

    def replace_tax_mappings(self, account_id: str, body: api.ReplaceTaxMappings) -> api.TaxMappingsView:
        connection, tenant_id = self._organisation_of(account_id)
        settings = self._settings.get(account_id)
        rates = {r.tax_type: r for r in self._tax_rates(connection, tenant_id, fresh=True)}
        mappings = {m.platform_tax_id: _mapping(m.platform_tax_id, _usable(rates, m.tax_type)) for m in body.mappings}
        default = _usable(rates, body.default_tax_type).tax_type if body.default_tax_type else None
        stored = self._save_settings(
            connection, settings.model_copy(update={"tax_mappings": mappings, "default_tax_type": default})
        )
        return _mappings_view(stored)

    def set_tax_mapping(self, account_id: str, platform_tax_id: str, tax_type: str) -> api.TaxMappingView:
        _check_platform_tax_id(platform_tax_id)
        connection, tenant_id = self._organisation_of(account_id)
        settings = self._settings.get(account_id)
        rates = {r.tax_type: r for r in self._tax_rates(connection, tenant_id, fresh=True)}
        mapping = _mapping(platform_tax_id, _usable(rates, tax_type))
        self._save_settings(
            connection, settings.model_copy(update={"tax_mappings": settings.tax_mappings | {platform_tax_id: mapping}})
        )
        return _mapping_view(mapping)

    def delete_tax_mapping(self, account_id: str, platform_tax_id: str) -> api.TaxMappingsView:
        connection = self._known(account_id)
        settings = self._settings.get(account_id)
        if platform_tax_id not in settings.tax_mappings:
            raise RequestRefused(
                "unknown_tax_mapping", f"No tax mapping exists for the platform tax id {platform_tax_id!r}.", status=404
            )
        remaining = {k: v for k, v in settings.tax_mappings.items() if k != platform_tax_id}
        return _mappings_view(self._save_settings(connection, settings.model_copy(update={"tax_mappings": remaining})))

    # --- products and tracking ------------------------------------------------------------------

    def items(self, account_id: str, *, refresh: bool = False) -> api.ItemsView:
        connection, tenant_id = self._organisation_of(account_id)
        return product_settings.items_view(account_id, self._items(connection, tenant_id, fresh=refresh))

    def product_mappings(self, account_id: str) -> api.ProductMappingsView:
        self._known(account_id)
        return product_settings.products_view(self._settings.get(account_id))

    def replace_product_mappings(self, account_id: str, body: api.ReplaceProductMappings) -> api.ProductMappingsView:
        connection, tenant_id = self._organisation_of(account_id)
        settings = self._settings.get(account_id)
        checked = self._product_checker(connection, tenant_id, body.mappings)
        mappings = {m.platform_product_id: checked(m.platform_product_id, m) for m in body.mappings}
        stored = self._save_settings(connection, settings.model_copy(update={"product_mappings": mappings}))
        return product_settings.products_view(stored)

    def set_product_mapping(
        self, account_id: str, product_id: str, body: api.SetProductMapping
    ) -> api.ProductMappingView:
        _check_platform_id(product_id, "product")
        connection, tenant_id = self._organisation_of(account_id)
        settings = self._settings.get(account_id)
        mapping = self._product_checker(connection, tenant_id, [body])(product_id, body)
        mappings = settings.product_mappings | {product_id: mapping}
        self._save_settings(connection, settings.model_copy(update={"product_mappings": mappings}))
        return product_settings.product_view(mapping)

    def delete_product_mapping(self, account_id: str, product_id: str) -> api.ProductMappingsView:
        connection = self._known(account_id)
        settings = self._settings.get(account_id)
        if product_id not in settings.product_mappings:
            raise RequestRefused(
                "unknown_product_mapping",
                f"No product mapping exists for the platform product {product_id!r}.",
                status=404,
            )
        remaining = {k: v for k, v in settings.product_mappings.items() if k != product_id}
        stored = self._save_settings(connection, settings.model_copy(update={"product_mappings": remaining}))
        return product_settings.products_view(stored)

    def tracking_categories(self, account_id: str, *, refresh: bool = False) -> api.TrackingCategoriesView:
        connection, tenant_id = self._organisation_of(account_id)
        categories = self._tracking_categories(connection, tenant_id, fresh=refresh)
        return product_settings.categories_view(account_id, categories)

    def tracking_mappings(self, account_id: str) -> api.TrackingMappingsView:
        self._known(account_id)
        return product_settings.trackings_view(self._settings.get(account_id))

    def replace_tracking_mappings(self, account_id: str, body: api.ReplaceTrackingMappings) -> api.TrackingMappingsView:
        connection, tenant_id = self._organisation_of(account_id)
        settings = self._settings.get(account_id)
        categories = self._tracking_categories(connection, tenant_id, fresh=True) if body.mappings else []
        mappings: dict[str, Any] = {}
        for m in body.mappings:
            mappings[m.dimension] = product_settings.tracking_mapping(m.dimension, m, categories, mappings)
        update: dict[str, Any] = {"tracking_mappings": mappings}
        if body.unmapped_dimensions is not None:
            update["unmapped_dimensions"] = body.unmapped_dimensions
        return product_settings.trackings_view(self._save_settings(connection, settings.model_copy(update=update)))

    def set_tracking_mapping(
        self, account_id: str, dimension: str, body: api.SetTrackingMapping
    ) -> api.TrackingMappingView:
        named = _dimension(dimension)
        connection, tenant_id = self._organisation_of(account_id)
        settings = self._settings.get(account_id)
        categories = self._tracking_categories(connection, tenant_id, fresh=True)
        mapping = product_settings.tracking_mapping(named, body, categories, settings.tracking_mappings)
        mappings = settings.tracking_mappings | {named: mapping}
        self._save_settings(connection, settings.model_copy(update={"tracking_mappings": mappings}))
        return product_settings.tracking_view(mapping)

    def delete_tracking_mapping(self, account_id: str, dimension: str) -> api.TrackingMappingsView:
        dimension = _dimension(dimension)
        connection = self._known(account_id)
        settings = self._settings.get(account_id)
        if dimension not in settings.tracking_mappings:
            raise RequestRefused(
                "unknown_tracking_mapping", f"No tracking mapping exists for the dimension {dimension!r}.", status=404
            )
        remaining = {k: v for k, v in settings.tracking_mappings.items() if k != dimension}
        stored = self._save_settings(connection, settings.model_copy(update={"tracking_mappings": remaining}))
        return product_settings.trackings_view(stored)

    def _product_checker(
        self, connection: Connection, tenant_id: str, wanted: Iterable[api.SetProductMapping | api.ProductMappingIn]
    ) -> Callable[[str, api.SetProductMapping | api.ProductMappingIn], ProductMapping]:
        """Checks each product mapping against fresh items and accounts, reading only what they name."""
        listed = list(wanted)
        items = self._items(connection, tenant_id, fresh=True) if any(m.item_code for m in listed) else []
        accounts = self._accounts(connection, tenant_id, fresh=True) if any(m.account_code for m in listed) else []

        def check(product_id: str, m: api.SetProductMapping | api.ProductMappingIn) -> ProductMapping:
            item = product_settings.sold_item(items, m.item_code) if m.item_code else None
            account = _sales_account(accounts, m.account_code) if m.account_code else None
            return product_settings.product_mapping(product_id, item, account)

        return check

    # --- settings ------------------------------------------------------------------------------

    def settings(self, account_id: str) -> api.SettingsView:
        connection = self._known(account_id)
        return _settings_view(connection, self._settings.get(account_id))

    def update_settings(self, account_id: str, patch: api.SettingsPatch) -> api.SettingsView:
        given = patch.model_fields_set
        needs_xero = (patch.sales_account_code is not None and "sales_account_code" in given) or (
            patch.default_tax_type is not None and "default_tax_type" in given
        )
        connection, tenant_id = self._organisation_of(account_id) if needs_xero else (self._known(account_id), None)
        settings = self._settings.get(account_id)
        update: dict[str, Any] = {}
        if "sales_account_code" in given:
            code = patch.sales_account_code
            if code is not None and tenant_id is not None:
                code = _sales_account(self._accounts(connection, tenant_id, fresh=True), code).code
            update["sales_account_code"] = code
        if "default_tax_type" in given:
            tax_type = patch.default_tax_type
            if tax_type is not None and tenant_id is not None:
                rates = {r.tax_type: r for r in self._tax_rates(connection, tenant_id, fresh=True)}
                tax_type = _usable(rates, tax_type).tax_type
            update["default_tax_type"] = tax_type
        if "alert_recipients" in given:
            update["alert_recipients"] = _unique(patch.alert_recipients or [])
        if "unmapped_dimensions" in given:
            update["unmapped_dimensions"] = patch.unmapped_dimensions or "refuse"
        return self._save(connection, settings.model_copy(update=update))

    # --- disconnect ----------------------------------------------------------------------------

    def disconnect(self, account_id: str, *, reason: str = DISCONNECT_REASON) -> api.DisconnectView:
        self._known(account_id)
        outcome = self._disconnector.disconnect(account_id, reason=reason, now=self._clock())
        status = outcome.connection.status if outcome.connection else ConnectionStatus.DISCONNECTED
        return api.DisconnectView(
            account_id=account_id,
            status=_state(status),
            was_connected=outcome.was_connected,
            revoked_at_xero=outcome.revoked_at_xero,
            problems=outcome.problems,
        )

    # --- helpers -------------------------------------------------------------------------------

    def _known(self, account_id: str) -> Connection:
        connection = self._connections.get(account_id)
        if connection is None:
            raise UnknownAccount(f"The account {account_id} has never connected Xero.")
        return connection

    def _connected(self, account_id: str) -> Connection:
        connection = self._known(account_id)
        if connection.status != ConnectionStatus.CONNECTED:
            reason = f" ({connection.status_reason})" if connection.status_reason else ""
            what = (
                "needs to be reconnected"
                if connection.status == ConnectionStatus.NEEDS_RECONNECT
                else "was disconnected"
            )
            raise ConnectionUnavailable(
                f"Xero {what} for this account{reason}; the user must connect again.", status=connection.status.value
            )
        return connection

    def _organisation_of(self, account_id: str) -> tuple[Connection, str]:
        connection = self._connected(account_id)
        if connection.tenant_id is None:
            raise OrganisationNotChosen(
                "This account granted several Xero organisations and none is chosen yet: "
                "PUT /v1/accounts/{account_id}/organisation with one of them first."
            )
        return connection, connection.tenant_id

    def _accounts(self, connection: Connection, tenant_id: str, *, fresh: bool) -> list[XeroAccount]:
        rows = self._reference(connection, tenant_id, ACCOUNTS, "Accounts", fresh=fresh)
        return [XeroAccount.model_validate(row) for row in rows]

    def _tax_rates(self, connection: Connection, tenant_id: str, *, fresh: bool) -> list[XeroTaxRate]:
        rows = self._reference(connection, tenant_id, TAX_RATES, "TaxRates", fresh=fresh)
        return [XeroTaxRate.model_validate(row) for row in rows]

    def _items(self, connection: Connection, tenant_id: str, *, fresh: bool) -> list[XeroItem]:
        rows = self._reference(connection, tenant_id, ITEMS, "Items", fresh=fresh)
        return [XeroItem.model_validate(row) for row in rows]

    def _tracking_categories(
        self, connection: Connection, tenant_id: str, *, fresh: bool
    ) -> list[XeroTrackingCategory]:
        rows = self._reference(
            connection, tenant_id, TRACKING_CATEGORIES, "TrackingCategories", fresh=fresh, params=WITH_ARCHIVED
        )
        return [XeroTrackingCategory.model_validate(row) for row in rows]

    def _reference(
        self,
        connection: Connection,
        tenant_id: str,
        kind: str,
        resource: str,
        *,
        fresh: bool,
        params: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        if not fresh:
            cached = self._cache.read(tenant_id, kind)
            if cached is not None:
                return cached
        body = self._xero_get(connection.account_id, tenant_id, resource, params)
        model = REFERENCE_MODELS[kind]
        rows = [
            model.model_validate(row).model_dump(by_alias=True, exclude_none=True)
            for row in body.get(resource, [])
            if isinstance(row, dict)
        ]
        self._cache.write(tenant_id, kind, rows)
        return rows

    def _xero_get(
        self, account_id: str, tenant_id: str, resource: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        access = self._tokens.access(account_id)
        try:
            return self._xero.get(access.access_token, tenant_id, resource, params)
        except XeroUnauthorized:
            # The token was refused before its expiry (revoked elsewhere, clock skew): one refresh may save it.
            access = self._tokens.access(account_id, stale_version=access.connection.token_version)
            return self._xero.get(access.access_token, tenant_id, resource, params)

    def _save_settings(self, connection: Connection, settings: AccountSettings) -> AccountSettings:
        ready = settings.resumed_if_ready()
        stored = self._settings.save(ready, now=self._clock())
        self._record_activity(connection.account_id)
        if settings.organisation_changed_at is not None and ready.organisation_changed_at is None:
            # The new organisation's settings are chosen: what waited for them can go now.
            logger.info("settings chosen for the new organisation", extra={"account_id": connection.account_id})
            self._on_ready(connection.account_id)
        return stored

    def _save(self, connection: Connection, settings: AccountSettings) -> api.SettingsView:
        return _settings_view(connection, self._save_settings(connection, settings))

    def _record_activity(self, account_id: str) -> None:
        try:
            self._connections.record_activity(account_id, self._clock())
        except SyncError as exc:  # the write itself succeeded; activity is noted again on the next one
            logger.warning("activity not recorded", extra={"account_id": account_id, "error": exc.code})


# --- pure helpers ------------------------------------------------------------------------------


def _organisation_change(settings: AccountSettings) -> dict[str, Any]:
    if settings.organisation_changed_at is None:
        return {}
    return {"organisation_changed_at": settings.organisation_changed_at, "settings_needed": settings.missing_for_sync()}


def _state(status: ConnectionStatus) -> api.ConnectionState:
    states: dict[ConnectionStatus, api.ConnectionState] = {
        ConnectionStatus.CONNECTED: "connected",
        ConnectionStatus.NEEDS_RECONNECT: "needs_reconnect",
        ConnectionStatus.DISCONNECTED: "disconnected",
    }
    return states[status]


def _organisation(tenant: Tenant, *, chosen: bool) -> api.Organisation:
    return api.Organisation(
        tenant_id=tenant.tenant_id, name=tenant.tenant_name, tenant_type=tenant.tenant_type, chosen=chosen
    )


def _organisations(connection: Connection) -> list[api.Organisation]:
    return [_organisation(t, chosen=t.tenant_id == connection.tenant_id) for t in connection.tenants]


def _account_label(account: XeroAccount) -> str:
    return f"'{account.name}' ({account.code})" if account.code else f"'{account.name}'"


def _usable(rates: dict[str, XeroTaxRate], tax_type: str) -> XeroTaxRate:
    """The tax rate, if invoices may use it; refused in Xero's own words otherwise."""
    rate = rates.get(tax_type)
    if rate is None:
        raise RequestRefused("unknown_tax_type", f"Xero has no tax rate with the TaxType {tax_type!r}.")
    if not rate.active:
        raise RequestRefused(
            "tax_type_archived",
            f"The tax rate '{rate.name}' ({rate.tax_type}) is {rate.status.lower()} in Xero and cannot be used.",
        )
    if not rate.can_apply_to_revenue:
        raise RequestRefused(
            "tax_type_not_revenue",
            f"The tax rate '{rate.name}' ({rate.tax_type}) cannot be applied to revenue in Xero "
            "(CanApplyToRevenue is false).",
        )
    return rate


def _sales_account(accounts: Iterable[XeroAccount], code: str) -> XeroAccount:
    account = next((a for a in accounts if a.code == code), None)
    if account is None:
        raise RequestRefused("unknown_account_code", f"Xero has no account with the code {code!r}.")
    label = _account_label(account)
    if not account.active:
        raise RequestRefused("account_archived", f"The account {label} is {account.status.lower()} in Xero.")
    if account.type == "BANK" or account.system_account:
        kind = "a bank account" if account.type == "BANK" else f"a system account ({account.system_account})"
        raise RequestRefused(
            "account_not_for_sales", f"The account {label} is {kind}; Xero does not accept it on invoice lines."
        )
    return account


def _check_platform_tax_id(platform_tax_id: str) -> None:
    if not 1 <= len(platform_tax_id) <= api.PLATFORM_TAX_ID_MAX:
        raise RequestRefused("invalid_request", f"A platform tax id has 1 to {api.PLATFORM_TAX_ID_MAX} characters.")


def _check_platform_id(value: str, what: str) -> None:
    """A product id as invoice lines carry it (the event's Identifier), or a refusal saying so."""
    try:
        _IDENTIFIER.validate_python(value)
    except ValidationError:
        raise RequestRefused(
            "invalid_request",
            f"A platform {what} id has 1 to 128 characters: letters, digits and . _ : @ / -, starting with a letter "
            "or digit, as invoice lines carry it.",
        ) from None


def _dimension(value: str) -> str:
    """A dimension's name as invoice lines carry it once normalised, or a refusal saying why not."""
    try:
        return _DIMENSION.validate_python(value)
    except ValidationError as exc:
        problem = str(exc.errors()[0].get("msg", "invalid"))
        raise RequestRefused("invalid_request", f"That dimension name cannot be used: {problem}.") from None


_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)
_DIMENSION: TypeAdapter[str] = TypeAdapter(DimensionName)


def _mapping(platform_tax_id: str, rate: XeroTaxRate) -> TaxMapping:
    return TaxMapping(
        platform_tax_id=platform_tax_id,
        tax_type=rate.tax_type,
        tax_name=rate.name,
        effective_rate=None if rate.effective_rate is None else Decimal(str(rate.effective_rate)),
    )


def _mapping_view(mapping: TaxMapping) -> api.TaxMappingView:
    return api.TaxMappingView(
        platform_tax_id=mapping.platform_tax_id,
        tax_type=mapping.tax_type,
        tax_name=mapping.tax_name,
        effective_rate=None if mapping.effective_rate is None else float(mapping.effective_rate),
    )


def _mappings_view(settings: AccountSettings) -> api.TaxMappingsView:
    mappings = [_mapping_view(m) for _, m in sorted(settings.tax_mappings.items())]
    return api.TaxMappingsView(
        account_id=settings.account_id, mappings=mappings, default_tax_type=settings.default_tax_type
    )


def _settings_view(connection: Connection, settings: AccountSettings) -> api.SettingsView:
    configured = list(settings.alert_recipients)
    effective = configured or ([connection.connected_email] if connection.connected_email else [])
    payment = settings.payment_account
    return api.SettingsView(
        account_id=settings.account_id,
        tenant_id=connection.tenant_id,
        payment_account=(
            api.PaymentAccountView(
                xero_account_id=payment.account_id, code=payment.code, name=payment.name, type=payment.type
            )
            if payment
            else None
        ),
        sales_account_code=settings.sales_account_code,
        default_tax_type=settings.default_tax_type,
        tax_mapping_count=len(settings.tax_mappings),
        product_mapping_count=len(settings.product_mappings),
        tracking_mapping_count=len(settings.tracking_mappings),
        unmapped_dimensions=settings.unmapped_dimensions,
        alert_recipients=configured,
        effective_alert_recipients=effective,
        version=settings.version,
        updated_at=settings.updated_at,
    )


def _unique(addresses: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.lower(), address)
    return tuple(seen.values())
