"""The captain's console: one page and its two assets, public like any static file.

The page holds no data: after login its script calls the scoped JSON routes with the
captain's bearer token (kept in the tab's ``sessionStorage``), and the live list comes from
``GET /incidents/stream``. These routes are on the scoping matrix's public list for that
reason; they never read the registry or InfluxDB.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.console import page
from api.console.page import Language
from api.core.deps import CityDep, IncidentsDep

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _language(request: Request, asked: str | None) -> Language:
    if asked in page.LANGUAGES:
        return "en" if asked == "en" else "zh"
    accepted = request.headers.get("accept-language", "").lower()
    return "en" if accepted.startswith("en") else "zh"


@router.get("", response_class=HTMLResponse)
def console_page(
    request: Request,
    city: CityDep,
    ctx: IncidentsDep,
    lang: Annotated[str | None, Query(max_length=8, description="zh or en")] = None,
) -> HTMLResponse:
    """值班机长工作台: the page (Chinese by default; ``?lang=en`` for English)."""
    headers = {**_HEADERS, "Content-Security-Policy": page.CSP, "Cache-Control": "no-cache",
               "Vary": "Accept-Language"}  # fmt: skip
    return HTMLResponse(page.render(city, ctx.rules, _language(request, lang)), headers=headers)


def _asset(name: str) -> Response:
    # Versioned URLs (?v=<hash of the assets>) change with the content: cache for a day.
    headers = {**_HEADERS, "Cache-Control": "public, max-age=86400"}
    return Response(page.asset(name), media_type=page.ASSETS[name], headers=headers)


@router.get("/console.js")
def console_js() -> Response:
    return _asset("console.js")


@router.get("/console.css")
def console_css() -> Response:
    return _asset("console.css")
