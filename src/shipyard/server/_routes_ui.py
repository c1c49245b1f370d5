"""The web UI's pages: the shell (``shipyard/ui/static/index.html``) at every page address
and the static files under ``/static``.

Each address's shell preloads its page module and what that imports
(``shipyard.ui.page_shell``), so they arrive together. The shell holds no data: its modules
fetch everything from ``/api/v1`` with the user's token, so serving it needs no
authentication, and a page shows what the API answers and refuses what the API refuses. The
shell is sent with a strict Content-Security-Policy (scripts and connections only to this
origin; no framing by other sites).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.staticfiles import StaticFiles

from shipyard.ui import PAGES, STATIC_DIR, page_shell

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; "
        "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "frame-src 'self' blob: data:; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


def mount_ui(app: FastAPI) -> None:
    """Serve the UI's shell at every page address (with that page's modules preloaded) and
    its files under ``/static``."""
    shells = {page: page_shell(page) for page in set(PAGES.values())}

    def answer(shell: bytes) -> Callable[[Request], Awaitable[Response]]:
        async def page(_request: Request) -> Response:
            return Response(shell, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

        return page

    for path, page in PAGES.items():
        app.add_route(path, answer(shells[page]), methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
