"""The small HTML pages the user's browser sees around the consent flow."""

from __future__ import annotations

from html import escape

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    # The callback URL carries the authorisation code: never leak it through Referer.
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def render_page(brand: str, title: str, paragraphs: list[str], *, link: tuple[str, str] | None = None) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if link is not None:
        body += f'<p><a href="{escape(link[1], quote=True)}">{escape(link[0])}</a></p>'
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · {escape(brand)}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
        "color:#1f2937}h1{font-size:1.4rem}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}<p><small>{escape(brand)} · Xero connection</small></p>"
        "</body></html>"
    )
