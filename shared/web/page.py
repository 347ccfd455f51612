"""The settings page as HTML: server-rendered, every value escaped, working without JavaScript.

Each section is one function of the :class:`~shared.domain.settings_page.PageView`. Nothing here
reads a request or a table; :mod:`shared.web.app` hands in the view and the page's context (its
base path, the session's CSRF token, a notice or an error), and gets a string back.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from shared.domain.backlog import BackfillStatus
from shared.domain.settings_page import Activity, ActivityRow, FailureRow, Loaded, PageView, moment

if TYPE_CHECKING:
    from shared.models.reconcile import Difference

NOTICES = {
    "organisation": "Organisation chosen.",
    "payment_account": "Payment account saved.",
    "sales_account": "Sales account saved.",
    "default_tax": "Default tax rate saved.",
    "tax_mapped": "Tax mapping saved.",
    "tax_unmapped": "Tax mapping removed.",
    "product_mapped": "Product mapping saved.",
    "product_unmapped": "Product mapping removed.",
    "tracking_mapped": "Tracking mapping saved.",
    "tracking_unmapped": "Tracking mapping removed.",
    "tracking_policy": "Saved what happens to dimensions that are not mapped.",
    "alerts": "Alert recipients saved.",
    "retry": "The invoice was sent to the queue again. Sync activity below updates when it has synced.",
    "disconnected": "Xero is disconnected. Your settings are kept for when you connect again.",
    "reconcile_queued": "The check is queued. Reload this page in a minute to see what it found.",
    "difference_accepted": "Accepted: Xero's version stands. Nothing was changed in Xero.",
    "difference_resent": "The platform's version was sent to the queue again; it reaches Xero with the next sync.",
}
# Where each notice shows: in the section the form was in (the redirect scrolls there).
NOTICE_SECTIONS = {
    "organisation": "organisation",
    "payment_account": "payment-account",
    "sales_account": "sales-account",
    "default_tax": "tax",
    "tax_mapped": "tax",
    "tax_unmapped": "tax",
    "product_mapped": "products",
    "product_unmapped": "products",
    "tracking_mapped": "tracking",
    "tracking_unmapped": "tracking",
    "tracking_policy": "tracking",
    "alerts": "alerts",
    "retry": "activity",
    "disconnected": "connection",
    "reconcile_queued": "reconciliation",
    "difference_accepted": "reconciliation",
    "difference_resent": "reconciliation",
}
STATES = {
    "connected": ("Connected", "ok"),
    "needs_reconnect": ("Needs reconnecting", "warn"),
    "disconnected": ("Disconnected", "off"),
    "not_connected": ("Not connected", "off"),
}


@dataclass(frozen=True)
class PageContext:
    brand: str
    base: str  # the page's path, e.g. /xero/settings
    csrf_token: str
    asset_version: str
    notice: str | None = None
    error: str | None = None
    confirm_disconnect: bool = False
    watch: str | None = None
    since: str | None = None


def e(value: object) -> str:
    """Escaped for HTML text and quoted attribute values alike."""
    return escape("" if value is None else str(value), quote=True)


def render_page(view: PageView, ctx: PageContext) -> str:
    sections = [
        _connection(view, ctx),
        _organisation(view, ctx),
        _payment_account(view, ctx),
        _sales_account(view, ctx),
        _tax(view, ctx),
        _products(view, ctx),
        _tracking(view, ctx),
        _alerts(view, ctx),
        activity_section(view.activity, ctx) if view.activity else "",
        _reconciliation(view, ctx),
        _disconnect(view, ctx),
    ]
    banner = ""
    if ctx.error:
        banner = f'<div class="banner error" role="alert" id="problem"><p>{e(ctx.error)}</p></div>'
    return _document(
        ctx,
        "Xero settings",
        f'<header class="top"><p class="brand">{e(ctx.brand)}</p><h1>Xero integration</h1>'
        f"<p class=lead>Invoices, contacts and payments go one way, from {e(ctx.brand)} to Xero.</p></header>"
        f"{banner}{''.join(s for s in sections if s)}"
        f'<footer><form method=post action="{e(ctx.base)}/sign-out">{_csrf(ctx)}'
        '<button class="link" type=submit>Sign out of these settings</button></form></footer>',
    )


def render_message(brand: str, title: str, text: str, *, asset_version: str, base: str, link: str = "") -> str:
    """A page with one message: a refused link, an ended session."""
    ctx = PageContext(brand=brand, base=base, csrf_token="", asset_version=asset_version)
    back = f'<p><a href="{e(link)}">Back to {e(brand)}</a></p>' if link else ""
    body = f'<header class="top"><p class="brand">{e(brand)}</p><h1>{e(title)}</h1></header>'
    return _document(ctx, title, f'{body}<section class="card"><p>{e(text)}</p>{back}</section>')


def _document(ctx: PageContext, title: str, main: str) -> str:
    version = e(ctx.asset_version)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<meta name=referrer content="no-referrer">'
        f"<title>{e(title)} · {e(ctx.brand)}</title>"
        f'<link rel=stylesheet href="{e(ctx.base)}/assets/settings.css?v={version}">'
        f'<script src="{e(ctx.base)}/assets/settings.js?v={version}" defer></script>'
        '</head><body><a class="skip" href="#main">Skip to the settings</a>'
        f'<main id="main" tabindex="-1">{main}</main></body></html>'
    )


def _csrf(ctx: PageContext) -> str:
    return f'<input type=hidden name=csrf_token value="{e(ctx.csrf_token)}">'


def _form(ctx: PageContext, action: str, inner: str, *, target: str = "", cls: str = "") -> str:
    extra = f' target="{e(target)}"' if target else ""
    extra += f' class="{e(cls)}"' if cls else ""
    return f'<form method=post action="{e(ctx.base)}/{e(action)}"{extra}>{_csrf(ctx)}{inner}</form>'


def notice(ctx: PageContext, key: str) -> str:
    """The confirmation of the form just sent, in the section it belongs to."""
    if ctx.notice not in NOTICES or NOTICE_SECTIONS.get(ctx.notice) != key:
        return ""
    return f'<div class="banner ok" role="status"><p>{e(NOTICES[ctx.notice])}</p></div>'


def _section(key: str, title: str, body: str, *, intro: str = "", ctx: PageContext | None = None) -> str:
    lead = f"<p class=hint>{e(intro)}</p>" if intro else ""
    done = notice(ctx, key) if ctx is not None else ""
    return (
        f'<section class="card" id="{e(key)}" aria-labelledby="{e(key)}-title">'
        f'<h2 id="{e(key)}-title">{e(title)}</h2>{done}{lead}{body}</section>'
    )


def _problem(loaded: Loaded[object]) -> str:
    return f'<p class="problem" role="alert">{e(loaded.problem)}</p>' if loaded.problem else ""


def _option(value: str, label: str, *, selected: bool) -> str:
    return f'<option value="{e(value)}"{" selected" if selected else ""}>{e(label)}</option>'


def _when(value: str | None) -> str:
    at = moment(value)
    if at is None:
        return e(value or "")
    return f'<time datetime="{e(at.isoformat())}">{e(at.strftime("%d %b %Y, %H:%M UTC"))}</time>'


# --- sections ---------------------------------------------------------------------------------


def _connection(view: PageView, ctx: PageContext) -> str:
    c = view.connection
    label, tone = STATES[c.status]
    rows = [f'<dt>Status</dt><dd><span class="badge {tone}">{e(label)}</span></dd>']
    if c.status_reason and c.status != "connected":
        rows.append(f"<dt>Why</dt><dd>{e(c.status_reason)}</dd>")
    if c.organisation:
        rows.append(f"<dt>Organisation</dt><dd>{e(c.organisation.name)}</dd>")
    if c.connected_email:
        rows.append(f"<dt>Connected by</dt><dd>{e(c.connected_email)}</dd>")
    if c.last_activity_at:
        rows.append(f"<dt>Last activity</dt><dd>{_when(c.last_activity_at.isoformat())}</dd>")
    if c.disconnect_on:
        rows.append(
            f"<dt>Stays connected</dt><dd>until {e(c.disconnect_on.isoformat())} if nothing syncs;"
            " each sync moves this date later</dd>"
        )
    button = {
        "connected": "Reconnect to Xero",
        "needs_reconnect": "Reconnect to Xero",
        "disconnected": "Connect to Xero again",
        "not_connected": "Connect to Xero",
    }[c.status]
    primary = "" if c.status == "connected" else " primary"
    why = (
        "Reconnecting asks Xero's consent again, for example to grant another organisation."
        if c.status == "connected"
        else "You sign in at Xero and choose the organisations to share; you come back here afterwards."
    )
    action = _form(
        ctx,
        "connect",
        f'<button class="button{primary}" type=submit>{e(button)}</button><p class=hint>{e(why)}</p>',
        target="_top",
    )
    return _section("connection", "Connection", f'<dl class="facts">{"".join(rows)}</dl>{action}', ctx=ctx)


def _organisation(view: PageView, ctx: PageContext) -> str:
    c = view.connection
    if not c.organisations:
        return ""
    if not view.connected:
        names = ", ".join(o.name for o in c.organisations)
        return _section("organisation", "Organisation", f"<p>{e(names)}</p><p class=hint>Reconnect to change it.</p>")
    radios = "".join(
        f'<div class="choice"><input type=radio name=tenant_id id="org-{i}" value="{e(o.tenant_id)}"'
        f'{" checked" if o.chosen else ""} required><label for="org-{i}">{e(o.name)}</label></div>'
        for i, o in enumerate(c.organisations)
    )
    warning = (
        "Choosing another organisation clears the payment account, sales account, tax, product and tracking"
        " mappings, which belong to the organisation they were chosen in."
        if c.organisation
        else "Choose the organisation your invoices go to. Until you do, events wait and nothing is lost."
    )
    body = _form(
        ctx,
        "organisation",
        f'<fieldset><legend>Invoices go to</legend>{radios}</fieldset><p class=hint id="org-hint">{e(warning)}</p>'
        '<button class="button primary" type=submit aria-describedby="org-hint">Use this organisation</button>',
    )
    return _section("organisation", "Organisation", body, ctx=ctx)


def _not_ready(view: PageView) -> str:
    if not view.known:
        return "Connect Xero first."
    if not view.connected:
        return "Reconnect Xero to change this."
    return "Choose the organisation first."


def _payment_account(view: PageView, ctx: PageContext) -> str:
    title = "Payment account"
    if not view.ready:
        return _section("payment-account", title, f"<p class=hint>{e(_not_ready(view))}</p>") if view.known else ""
    loaded = view.payment_accounts
    help_text = f'<p class=hint id="payment-help">{e(loaded.value.help if loaded.value else _payments_help())}</p>'
    if loaded.value is None:
        return _section("payment-account", title, _problem(loaded) + help_text)
    accounts = loaded.value.accounts
    if not accounts:
        return _section(
            "payment-account", title, "<p>This organisation has no account that can receive payments.</p>" + help_text
        )
    chosen = loaded.value.chosen_account_id
    options = "" if chosen else _option("", "Choose an account", selected=True)
    for a in accounts:
        kind = "bank account" if a.type == "BANK" else "payments enabled"
        label = f"{a.code} · {a.name} ({kind})" if a.code else f"{a.name} ({kind})"
        options += _option(a.xero_account_id, label, selected=a.chosen)
    body = _form(
        ctx,
        "payment-account",
        '<label for="payment-account-id">Payments are recorded in</label>'
        f'<select id="payment-account-id" name=account_id required aria-describedby="payment-help">{options}</select>'
        f'{help_text}<button class="button primary" type=submit>Save payment account</button>',
    )
    return _section(
        "payment-account",
        title,
        body,
        intro="Only bank accounts and accounts with payments enabled are listed.",
        ctx=ctx,
    )


def _payments_help() -> str:
    # The management domain comes with the first request that reads Xero (shared.wiring), not at import.
    from shared.domain.management import PAYMENTS_HELP  # noqa: PLC0415

    return PAYMENTS_HELP


def _sales_account(view: PageView, ctx: PageContext) -> str:
    if not view.ready:
        return ""
    loaded = view.sales_accounts
    if loaded.value is None:
        return _section("sales-account", "Sales account", _problem(loaded))
    current = view.settings.value.sales_account_code if view.settings.value else None
    options = _option("", "Choose an account", selected=current is None)
    options += "".join(_option(a.code or "", f"{a.code} · {a.name}", selected=a.code == current) for a in loaded.value)
    body = _form(
        ctx,
        "sales-account",
        '<label for="sales-account-code">Invoice lines are recorded in</label>'
        f'<select id="sales-account-code" name=code aria-describedby="sales-hint">{options}</select>'
        '<p class=hint id="sales-hint">Used for every line that does not name its own account.</p>'
        '<button class="button" type=submit>Save sales account</button>',
    )
    return _section("sales-account", "Sales account", body, ctx=ctx)


def _tax(view: PageView, ctx: PageContext) -> str:
    if not view.known:
        return ""
    mappings = view.tax_mappings.value
    rows = ""
    for m in mappings.mappings if mappings else []:
        remove = _form(
            ctx,
            "tax-unmap",
            f'<input type=hidden name=platform_tax_id value="{e(m.platform_tax_id)}">'
            f'<button class="button small" type=submit aria-label="Remove the mapping of {e(m.platform_tax_id)}">'
            "Remove</button>",
            cls="inline",
        )
        rows += (
            f"<tr><th scope=row>{e(m.platform_tax_id)}</th><td>{e(m.tax_name or m.tax_type)}</td><td>{remove}</td></tr>"
        )
    table = _mappings_table(
        "Your tax rates and the Xero tax rates they become",
        (f"{ctx.brand} tax id", "Xero tax rate"),
        rows,
        empty="No tax rate is mapped yet: invoices with taxed lines fail until their tax id is mapped.",
    )
    body = _problem(view.tax_mappings) + table
    rates = view.tax_rates.value
    if not view.ready:
        body += f"<p class=hint>{e(_not_ready(view))}</p>"
    elif rates is None:
        body += _problem(view.tax_rates)
    else:
        choices = _option("", "Choose a Xero tax rate", selected=True) + "".join(
            _option(r.tax_type, _rate_label(r.name, r.display_tax_rate), selected=False) for r in rates.tax_rates
        )
        body += _form(
            ctx,
            "tax-map",
            '<div class="row"><div><label for="platform-tax-id">Tax id</label>'
            '<input id="platform-tax-id" name=platform_tax_id required maxlength=128 autocomplete=off'
            ' aria-describedby="tax-id-hint" spellcheck=false>'
            '<p class=hint id="tax-id-hint">As your invoices name it, e.g. gst-15.</p></div>'
            '<div><label for="tax-type">Xero tax rate</label>'
            f'<select id="tax-type" name=tax_type required>{choices}</select></div></div>'
            '<button class="button primary" type=submit>Save mapping</button>',
            cls="stack",
        )
        default = view.tax_mappings.value.default_tax_type if view.tax_mappings.value else None
        defaults = _option("", "None: such lines fail", selected=default is None) + "".join(
            _option(r.tax_type, _rate_label(r.name, r.display_tax_rate), selected=r.tax_type == default)
            for r in rates.tax_rates
        )
        body += _form(
            ctx,
            "default-tax",
            '<label for="default-tax-type">Lines without a tax id</label>'
            f'<select id="default-tax-type" name=tax_type>{defaults}</select>'
            '<button class="button" type=submit>Save default</button>',
            cls="stack",
        )
    return _section(
        "tax", "Tax rates", body, intro="Only Xero tax rates that are active and apply to sales can be chosen.", ctx=ctx
    )


def _mappings_table(caption: str, columns: tuple[str, ...], rows: str, *, empty: str) -> str:
    """A table of saved mappings (``rows`` already escaped, each ending with its actions), or ``empty``."""
    if not rows:
        return f"<p>{e(empty)}</p>"
    heads = "".join(f"<th scope=col>{e(c)}</th>" for c in columns)
    return (
        f'<table class="mappings"><caption>{e(caption)}</caption><thead><tr>{heads}'
        f"<th scope=col><span class=visually-hidden>Actions</span></th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _products(view: PageView, ctx: PageContext) -> str:
    """Products: each platform product to a Xero item and/or account; unmapped ones go to the sales account."""
    if not view.known:
        return ""
    mappings = view.product_mappings.value
    rows = ""
    for m in mappings.mappings if mappings else []:
        item = f"{m.item_code} · {m.item_name}" if m.item_code else "No item"
        account = f"{m.account_code} · {m.account_name}" if m.account_code else "The item's own account"
        remove = _form(
            ctx,
            "product-unmap",
            f'<input type=hidden name=product_id value="{e(m.platform_product_id)}">'
            f'<button class="button small" type=submit aria-label="Remove the mapping of {e(m.platform_product_id)}">'
            "Remove</button>",
            cls="inline",
        )
        rows += (
            f"<tr><th scope=row>{e(m.platform_product_id)}</th><td>{e(item)}</td><td>{e(account)}</td>"
            f"<td>{remove}</td></tr>"
        )
    table = _mappings_table(
        "Your products and where their lines go in Xero",
        (f"{ctx.brand} product", "Xero item", "Account"),
        rows,
        empty="No product is mapped yet: every line goes to the sales account.",
    )
    body = _problem(view.product_mappings) + table
    items = view.items.value
    if not view.ready:
        body += f"<p class=hint>{e(_not_ready(view))}</p>"
    elif items is None:
        body += _problem(view.items)
    else:
        item_choices = _option("", "No item", selected=True) + "".join(
            _option(i.code, f"{i.code} · {i.name}", selected=False) for i in items.items
        )
        accounts = view.sales_accounts.value or []
        account_choices = _option("", "The item's own account (or the sales account)", selected=True) + "".join(
            _option(a.code or "", f"{a.code} · {a.name}", selected=False) for a in accounts
        )
        body += _form(
            ctx,
            "product-map",
            '<label for="product-id">Product id</label>'
            '<input id="product-id" name=product_id required maxlength=128 autocomplete=off spellcheck=false'
            ' aria-describedby="product-id-hint">'
            '<p class=hint id="product-id-hint">As your invoice lines name it, e.g. prod-sourdough.</p>'
            '<div class="row"><div><label for="product-item">Xero item</label>'
            f'<select id="product-item" name=item_code>{item_choices}</select></div>'
            '<div><label for="product-account">Account</label>'
            f'<select id="product-account" name=account_code>{account_choices}</select></div></div>'
            '<button class="button primary" type=submit>Save product mapping</button>',
            cls="stack",
        )
    return _section(
        "products",
        "Products",
        body,
        intro="Lines whose product is not mapped go to the sales account. Each line keeps its own price: an item's "
        "price in Xero is never used.",
        ctx=ctx,
    )


def _tracking(view: PageView, ctx: PageContext) -> str:
    """Tracking: each value of a platform dimension to an option of one Xero tracking category."""
    if not view.known:
        return ""
    mappings = view.tracking_mappings.value
    rows = ""
    for m in mappings.mappings if mappings else []:
        for o in m.options:
            remove = _form(
                ctx,
                "tracking-unmap",
                f'<input type=hidden name=dimension value="{e(m.dimension)}">'
                f'<input type=hidden name=value value="{e(o.value)}">'
                f'<button class="button small" type=submit aria-label="Remove the mapping of {e(m.dimension)}'
                f' {e(o.value)}">Remove</button>',
                cls="inline",
            )
            rows += (
                f"<tr><th scope=row>{e(m.dimension)}</th><td>{e(o.value)}</td>"
                f"<td>{e(m.category_name)}: {e(o.option_name)}</td><td>{remove}</td></tr>"
            )
    table = _mappings_table(
        "Your dimensions and the Xero tracking options they become",
        ("Dimension", "Value", "Xero tracking"),
        rows,
        empty="No dimension is mapped to Xero tracking yet.",
    )
    body = _problem(view.tracking_mappings) + table
    categories = view.tracking_categories.value
    if not view.ready:
        body += f"<p class=hint>{e(_not_ready(view))}</p>"
    elif categories is None:
        body += _problem(view.tracking_categories)
    elif not categories.tracking_categories:
        body += "<p class=hint>This Xero organisation has no active tracking category.</p>"
    else:
        groups = "".join(
            f'<optgroup label="{e(c.name)}">'
            + "".join(
                _option(f"{c.tracking_category_id}:{o.option_id}", f"{c.name}: {o.name}", selected=False)
                for o in c.options
            )
            + "</optgroup>"
            for c in categories.tracking_categories
        )
        body += _form(
            ctx,
            "tracking-map",
            '<div class="row"><div><label for="tracking-dimension">Dimension</label>'
            '<input id="tracking-dimension" name=dimension required maxlength=100 autocomplete=off spellcheck=false'
            ' aria-describedby="tracking-hint"></div>'
            '<div><label for="tracking-value">Value</label>'
            '<input id="tracking-value" name=value required maxlength=100 autocomplete=off spellcheck=false>'
            "</div></div>"
            '<p class=hint id="tracking-hint">As your invoice lines name them, e.g. location and Auckland.</p>'
            '<label for="tracking-option">Xero tracking option</label>'
            '<select id="tracking-option" name=option required>'
            f"{_option('', 'Choose an option', selected=True)}{groups}</select>"
            '<button class="button primary" type=submit>Save tracking mapping</button>',
            cls="stack",
        )
    policy = mappings.unmapped_dimensions if mappings else "refuse"
    choices = (
        ("refuse", "Refuse the invoice, and say which dimension to map"),
        ("ignore", "Send the invoice without them (each one is noted in the service's log)"),
    )
    radios = "".join(
        f'<div class="choice"><input type=radio name=policy id="policy-{value}" value="{value}"'
        f'{" checked" if value == policy else ""} required><label for="policy-{value}">{e(label)}</label></div>'
        for value, label in choices
    )
    body += _form(
        ctx,
        "tracking-policy",
        f"<fieldset><legend>Dimensions that are not mapped</legend>{radios}</fieldset>"
        '<button class="button" type=submit>Save</button>',
        cls="stack",
    )
    return _section(
        "tracking",
        "Tracking",
        body,
        intro="Xero drops a tracking option it does not know from an invoice without a word; such lines are refused "
        "here instead, with the fix. Each dimension goes to one Xero tracking category (Xero allows two).",
        ctx=ctx,
    )


def _rate_label(name: str, rate: float | None) -> str:
    return f"{name} ({rate:g}%)" if rate is not None else name


def _alerts(view: PageView, ctx: PageContext) -> str:
    settings = view.settings.value
    if settings is None:
        return _section("alerts", "Alert emails", _problem(view.settings)) if view.settings.problem else ""
    effective = ", ".join(settings.effective_alert_recipients) or "nobody (no address is known)"
    body = _form(
        ctx,
        "alerts",
        '<label for="alert-recipients">Send alerts to</label>'
        '<textarea id="alert-recipients" name=recipients rows=3 aria-describedby="alerts-hint" autocomplete=email'
        f" spellcheck=false>{e(chr(10).join(settings.alert_recipients))}</textarea>"
        '<p class=hint id="alerts-hint">One address per line, at most 10. Left empty, alerts go to the Xero user'
        f" who connected. Alerts now go to: {e(effective)}.</p>"
        '<button class="button" type=submit>Save recipients</button>',
    )
    return _section(
        "alerts",
        "Alert emails",
        body,
        intro="Emails when an invoice fails to sync or Xero needs reconnecting.",
        ctx=ctx,
    )


def activity_section(activity: Activity, ctx: PageContext) -> str:
    """Sync activity: the backlog, the failures to fix (with Retry), the latest syncs."""
    attrs = ""
    if activity.watching:
        query = urlencode({"watch": activity.watching, "since": ctx.since or ""})
        attrs = f' data-refresh="{e(ctx.base)}/activity?{e(query)}" aria-busy="true"'
    backlog = activity.backlog
    if backlog is None:
        waiting = "<p>No backlog figure right now.</p>"
    elif backlog.waiting == 0:
        waiting = "<p>Nothing is waiting for Xero.</p>"
    else:
        count = f"More than {backlog.waiting}" if backlog.more else str(backlog.waiting)
        by = (
            f", expected in Xero by {_when(backlog.drains_by.isoformat())} (an estimate from the organisation's "
            "Xero call limits)"
            if backlog.drains_by
            else ""
        )
        waiting = f"<p>{count} event(s) waiting for Xero{by}.</p>"
    waiting += _backfill(activity.backfill) if activity.backfill is not None else ""
    failures = activity.failures.value
    if failures is None:
        failed = _problem(activity.failures)
    elif failures:
        failed = '<ul class="rows" aria-label="Sync failures">' + "".join(_failure(f, ctx) for f in failures) + "</ul>"
    else:
        failed = "<p>Nothing needs attention.</p>"
    recent = activity.recent.value
    if recent is None:
        synced = _problem(activity.recent)
    elif recent:
        synced = '<ul class="rows compact">' + "".join(_recent(r) for r in recent) + "</ul>"
    else:
        synced = "<p>Nothing has synced yet.</p>"
    return (
        f'<section class="card" id="activity" aria-labelledby="activity-title" aria-live="polite"{attrs}>'
        f'<h2 id="activity-title">Sync activity</h2>{notice(ctx, "activity")}'
        f"<h3>Waiting</h3>{waiting}<h3>Needs attention</h3>{failed}<h3>Recent syncs</h3>{synced}</section>"
    )


def _backfill(status: BackfillStatus) -> str:
    """The history import: waiting, synced, failed, kept as Xero has them, and when it will be done."""
    count = f"more than {status.waiting}" if status.more else str(status.waiting)
    kept = f", {status.kept} already in Xero and kept as Xero has them" if status.kept else ""
    lines = [f"History import: {count} waiting, {status.synced} synced, {status.failed} failed{kept}."]
    if status.drains_by is not None:
        lines.append(
            f"Expected in Xero by {_when(status.drains_by.isoformat())} (an estimate: the history uses up to "
            f"{status.calls_a_day} of the organisation's Xero calls a day; new invoices go first)."
        )
    if status.resumes_at is not None:
        lines.append(f"Today's calls for the history are spent; it goes on {_when(status.resumes_at.isoformat())}.")
    if status.kept_numbers:
        shown = e(", ".join(status.kept_numbers[:10])) + (" and more" if len(status.kept_numbers) > 10 else "")
        lines.append(f"Paid, voided or another contact's in Xero, so left unchanged (check them there): {shown}.")
    return '<div class="backfill" aria-label="History import">' + "".join(f"<p>{x}</p>" for x in lines) + "</div>"


def _failure(f: FailureRow, ctx: PageContext) -> str:
    what = f.credit or (
        f"Payment {f.payment_id} of invoice {f.number or f.invoice_id}"
        if f.payment_id
        else (f"Invoice {f.number or f.invoice_id}")
    )
    xero = "".join(f"<li>{e(m)}</li>" for m in f.xero_messages)
    xero_list = f'<ul class="xero" aria-label="What Xero said">{xero}</ul>' if xero else ""
    retry = _form(
        ctx,
        "retry",
        f'<input type=hidden name=invoice_id value="{e(f.invoice_id)}">'
        f'<button class="button small primary" type=submit aria-label="Retry {e(what)}">Retry</button>',
        cls="inline",
    )
    return (
        f'<li class="failure"><div class="what"><strong>{e(what)}</strong>'
        f'<span class="badge warn">Failed</span> <span class="meta">{_when(f.failed_at)}</span></div>'
        f'<p>{e(f.message)}</p>{xero_list}<p class="fix"><strong>Fix:</strong> {e(f.fix)}</p>'
        + (
            '<p class="hint">After fixing it, save the credit note again: it is sent again.</p></li>'
            if f.credit
            else f'<p class="hint">After fixing it, retry: the invoice is sent again.</p>{retry}</li>'
        )
    )


def _recent(r: ActivityRow) -> str:
    what = r.credit or (
        f"Payment {r.payment_id} of {r.number or r.invoice_id}" if r.payment_id else r.number or r.invoice_id
    )
    if r.state == "synced":
        badge = '<span class="badge ok">Synced</span>'
        detail = " · ".join(x for x in (r.xero_status or "", f"{r.total:,.2f}" if r.total is not None else "") if x)
    else:
        badge = '<span class="badge warn">Failed</span>'
        detail = r.error_code or ""
    detail_text = f'<span class="meta">{e(detail)} · </span>' if detail else ""
    return f'<li><span class="what">{e(what)}</span> {badge} {detail_text}<span class="meta">{_when(r.at)}</span></li>'


DIFFERENCE_TITLES = {
    "missing_in_xero": "Missing in Xero",
    "deleted_in_xero": "Deleted in Xero",
    "voided_in_xero": "Voided in Xero",
    "totals_differ": "Amounts differ",
    "payments_differ": "Payments differ",
    "edited_in_xero": "Edited in Xero",
}
DIFFERENCE_STATES = {"open": ("Open", "warn"), "accepted": ("Accepted", "ok"), "resent": ("Resent", "ok")}


def _reconciliation(view: PageView, ctx: PageContext) -> str:
    """Does Xero still match? The last check, each difference with what to do, Check now."""
    if not view.known:
        return ""
    loaded = view.reconciliation
    if loaded.value is None:
        return _section("reconciliation", "Xero check", _problem(loaded)) if loaded.problem else ""
    run, differences = loaded.value.run, loaded.value.differences
    if run is None:
        last = "<p>Xero has not been checked yet. It is checked every day, and in full every Sunday.</p>"
    elif run.state == "complete":
        scope = "every invoice" if run.kind == "full" else "what changed in Xero since the check before"
        last = (
            f"<p>Last checked {_when(run.finished_at)}: {e(scope)}, {run.compared:,} invoice(s) compared, "
            f"{run.calls} Xero call(s).</p>"
        )
    else:
        why = f" ({run.deferred_reason})" if run.deferred_reason else ""
        last = f"<p>A check started {_when(run.started_at)} is under way{e(why)}.</p>"
    if differences:
        rows = '<ul class="rows" aria-label="Differences with Xero">' + "".join(
            _difference(d, ctx) for d in differences
        )
        rows += "</ul>"
    elif run is not None and run.state == "complete":
        rows = "<p>Xero matches what was sent.</p>"
    else:
        rows = ""
    check = _form(ctx, "reconcile", '<button class="button" type=submit>Check now</button>') if view.connected else ""
    return _section(
        "reconciliation",
        "Xero check",
        f"{last}{rows}{check}",
        intro="Compares what is in Xero with what was sent, to show edits, voids and payments made in Xero. "
        "Nothing is changed in Xero unless you resend.",
        ctx=ctx,
    )


def _difference(d: Difference, ctx: PageContext) -> str:
    what = f"Invoice {d.number or d.invoice_id}"
    label, tone = DIFFERENCE_STATES.get(d.state, (d.state, "warn"))
    details = "".join(f"<li>{e(detail)}</li>" for detail in d.details)
    buttons = ""
    if d.state == "open":
        hidden = f'<input type=hidden name=invoice_id value="{e(d.invoice_id)}">'
        if "resend" in d.actions:
            buttons += _form(
                ctx,
                "difference-resend",
                f'{hidden}<button class="button small primary" type=submit aria-label="Resend {e(what)}">'
                "Resend</button>",
                cls="inline",
            )
        buttons += _form(
            ctx,
            "difference-accept",
            f'{hidden}<button class="button small" type=submit aria-label="Accept {e(what)}">Accept</button>',
            cls="inline",
        )
    return (
        f'<li class="failure"><div class="what"><strong>{e(what)}</strong> '
        f'<span class="badge {tone}">{e(DIFFERENCE_TITLES.get(d.kind, d.kind))} · {e(label)}</span> '
        f'<span class="meta">{_when(d.found_at)}</span></div>'
        f'<ul class="xero" aria-label="What differs">{details}</ul>'
        f'<p class="fix"><strong>What to do:</strong> {e(d.what_to_do)}</p>{buttons}</li>'
    )


def _disconnect(view: PageView, ctx: PageContext) -> str:
    if not view.connected:
        return ""
    org = view.connection.organisation.name if view.connection.organisation else "Xero"
    if not ctx.confirm_disconnect:
        body = (
            "<p>Stops syncing and removes this service's access to Xero. Your settings are kept.</p>"
            f'<p><a class="button danger" href="{e(ctx.base)}?confirm=disconnect#disconnect">Disconnect…</a></p>'
        )
        return _section("disconnect", "Disconnect", body)
    body = (
        f'<div class="confirm" role="group" aria-labelledby="confirm-title"><p id="confirm-title"><strong>'
        f"Disconnect {e(org)} from Xero?</strong></p>"
        "<p>Invoices stop going to Xero, and the connection is removed at Xero too. What is already in Xero"
        " stays there. You can connect again later; your settings are kept.</p>"
        + _form(
            ctx,
            "disconnect",
            '<button class="button danger" type=submit>Yes, disconnect</button>'
            f' <a class="button" href="{e(ctx.base)}#disconnect">Cancel</a>',
        )
        + "</div>"
    )
    return _section("disconnect", "Disconnect", body)
