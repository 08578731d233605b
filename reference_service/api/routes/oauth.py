"""The authorization server's endpoints: /authorize, /token and /refresh.

They are OAuth2 protocol endpoints, not API operations: the OpenAPI document
names them in the `oauth2` scheme's flows instead of listing them as paths.
/authorize shows a sign-in and consent form (GET) and takes its answer (POST);
the user's password is limited like Basic ones. /token serves every grant;
/refresh serves only `refresh_token`, as the guide's separate refresh URL.
"""

from __future__ import annotations

import html
import logging
from typing import Any, Final, cast

from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from reference_service.oauth import (
    AUTHORIZE_PATH,
    REFRESH_PATH,
    TOKEN_PATH,
    OAuthServer,
    StarletteOAuthRequest,
)
from reference_service.security import count_failure, refuse_if_limited

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_SCHEME: Final = "oauth2_login"
# The form must not be framed (clickjacking) nor post anywhere but here.
PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}
# Parameters of the authorization request the form carries back on POST.
REQUEST_PARAMETERS: Final = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


@router.get(AUTHORIZE_PATH)
async def authorize_form(request: Request) -> Response:
    """Check the authorization request, then ask the user to sign in and consent."""
    server = _server(request)
    checked = await _consent(request, server)
    if isinstance(checked, Response):
        return checked

    oauth_request, grant = checked
    return _page(oauth_request.payload.data, grant.request.scope or "")


@router.post(AUTHORIZE_PATH)
async def authorize(request: Request) -> Response:
    """Sign the user in; on consent, redirect back with a code, else access_denied."""
    server = _server(request)
    checked = await _consent(request, server)
    if isinstance(checked, Response):
        return checked

    oauth_request, grant = checked
    form = oauth_request.form
    if form.get("decision") != "allow":
        return cast(
            Response, server.create_authorization_response(oauth_request, None, grant)
        )

    refuse_if_limited(request, LOGIN_SCHEME)
    if not server.check_user(form.get("username", ""), form.get("password", "")):
        count_failure(request, LOGIN_SCHEME)
        logger.warning(
            "authentication failed",
            extra={
                "auth.scheme": LOGIN_SCHEME,
                "auth.reason": "wrong user name or password",
                "http.path": request.url.path,
            },
        )
        scope = grant.request.scope or ""
        return _page(oauth_request.payload.data, scope, "Wrong user name or password.")

    response = server.create_authorization_response(oauth_request, server.user, grant)
    return cast(Response, response)


@router.post(TOKEN_PATH)
async def token(request: Request) -> Response:
    """Exchange a code, a refresh token or the client's credentials for a token."""
    return await _token_response(request, refresh_only=False)


@router.post(REFRESH_PATH)
async def refresh(request: Request) -> Response:
    """Exchange a refresh token for a new access token and refresh token."""
    return await _token_response(request, refresh_only=True)


async def _token_response(request: Request, refresh_only: bool) -> Response:
    server = _server(request)
    oauth_request = await _oauth_request(request)
    if isinstance(oauth_request, Response):
        return oauth_request
    return server.token_response(oauth_request, refresh_only)


async def _consent(
    request: Request, server: OAuthServer
) -> tuple[StarletteOAuthRequest, Any] | Response:
    """The authorization request and its grant, or the error answer to send instead."""
    oauth_request = await _oauth_request(request)
    if isinstance(oauth_request, Response):
        return oauth_request
    try:
        grant = server.get_consent_grant(oauth_request)
    except OAuth2Error as error:
        return server.error_response(oauth_request, error)
    return oauth_request, grant


async def _oauth_request(request: Request) -> StarletteOAuthRequest | Response:
    """The request as Authlib reads it, or its refusal (plain HTTP off loopback)."""
    form = await request.form() if request.method == "POST" else None
    try:
        return StarletteOAuthRequest(
            request.method,
            str(request.url),
            request.headers,
            query=list(request.query_params.multi_items()),
            form=[
                (key, value)
                for key, value in (form.multi_items() if form is not None else [])
                if isinstance(value, str)
            ],
        )
    except OAuth2Error as error:
        # RFC 6749 section 3.1: the endpoints require TLS. Authlib allows plain
        # HTTP on loopback only, where a TLS-terminating proxy would forward.
        return _server(request).handle_response(*error())


def _server(request: Request) -> OAuthServer:
    return cast(OAuthServer, request.app.state.oauth)


def _page(parameters: dict[str, str], scope: str, problem: str = "") -> HTMLResponse:
    """The sign-in and consent form; every value from the request is escaped."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name in REQUEST_PARAMETERS
        if (value := parameters.get(name))
    )
    client = html.escape(parameters.get("client_id", ""))
    scopes = html.escape(scope or "no scopes")
    notice = f"<p role=alert>{html.escape(problem)}</p>" if problem else ""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<title>Sign in</title>"
        f"<h1>Sign in</h1><p>{client} asks for: {scopes}.</p>{notice}"
        f'<form method=post action="{AUTHORIZE_PATH}">{hidden}'
        "<label>User <input name=username autocomplete=username></label>"
        "<label>Password <input type=password name=password "
        "autocomplete=current-password></label>"
        "<button name=decision value=allow>Allow</button>"
        "<button name=decision value=deny>Deny</button>"
        "</form></html>"
    )
    return HTMLResponse(body, headers=PAGE_HEADERS)
