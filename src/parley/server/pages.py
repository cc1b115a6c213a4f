"""The browser pages and their static files, served from the package's ``web/`` folder.

Every HTTP response carries headers that make the pages safe to open: a strict
Content-Security-Policy (scripts and styles only from this origin, no inline script, no
``eval``, no framing), ``nosniff`` and no referrer.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/static/"):
        # Revalidate (cheap: ETag / Last-Modified) so that after an upgrade no browser mixes
        # new pages with old modules.
        response.headers.setdefault("Cache-Control", "no-cache")


def setup_pages(app: web.Application) -> None:
    """Serve ``/static/...`` from ``web/`` and add the security headers to every response."""
    app.router.add_static("/static/", WEB_DIR, show_index=False, follow_symlinks=False)
    app.on_response_prepare.append(_add_security_headers)


def page(name: str) -> web.FileResponse:
    """A page from ``web/``, never cached, so an upgrade of the server reaches every browser."""
    return web.FileResponse(WEB_DIR / name, headers={"Cache-Control": "no-cache"})


def favicon() -> web.FileResponse:
    """The answer to ``/favicon.ico``. The pages link ``/static/icon.svg``; browsers and tools
    that ask for ``/favicon.ico`` anyway get the same icon, not a 404 (which browsers log in the
    console of the page)."""
    return web.FileResponse(WEB_DIR / "icon.svg", headers={"Content-Type": "image/svg+xml"})
