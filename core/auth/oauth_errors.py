"""league/oauth2-server error payloads, as osu-web (Passport) sends them: the OAuth plugin's
answers and the authorize-request checks of `core.auth.authorize`."""

from __future__ import annotations

from core.http import ApiError

INVALID_REQUEST = (
    "The request is missing a required parameter, includes an invalid parameter value, includes a "
    "parameter more than once, or is otherwise malformed."
)
INVALID_GRANT = (
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or "
    "refresh token is invalid, expired, revoked, does not match the redirection URI used in the "
    "authorization request, or was issued to another client."
)
INVALID_SCOPE = "The requested scope is invalid, unknown, or malformed"
UNSUPPORTED_GRANT = "The authorization grant type is not supported by the authorization server."
ACCESS_DENIED = "The resource owner or authorization server denied the request."


def oauth_error(
    status: int,
    error: str,
    description: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    body: dict[str, str] = {"error": error, "error_description": description}
    if hint:
        body["hint"] = hint
    body["message"] = description
    return ApiError(status, body, headers)


def invalid_client(sent_authorization: bool) -> ApiError:
    headers = {"WWW-Authenticate": 'Basic realm="OAuth"'} if sent_authorization else None
    return oauth_error(401, "invalid_client", "Client authentication failed", headers=headers)


def invalid_request(hint: str) -> ApiError:
    return oauth_error(400, "invalid_request", INVALID_REQUEST, hint)


def missing(name: str) -> ApiError:
    return invalid_request(f"Check the `{name}` parameter")


def invalid_scope(scope: str) -> ApiError:
    return oauth_error(400, "invalid_scope", INVALID_SCOPE, f"Check the `{scope}` scope")


def unsupported_grant() -> ApiError:
    return oauth_error(
        400,
        "unsupported_grant_type",
        UNSUPPORTED_GRANT,
        "Check that all required parameters have been provided",
    )


def invalid_grant(hint: str) -> ApiError:
    return oauth_error(400, "invalid_grant", INVALID_GRANT, hint)


def invalid_refresh(hint: str) -> ApiError:
    # league 8.x: invalid_request with status 401 for every refresh-token failure.
    return oauth_error(401, "invalid_request", "The refresh token is invalid.", hint)


def scope_policy(message: str) -> ApiError:
    return ApiError(400, {"error": message})
