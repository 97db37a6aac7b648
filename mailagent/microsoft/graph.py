"""Microsoft Graph over plain HTTP (httpx) with msal tokens: the few calls a mailbox needs.

Not the Graph SDK: it is hundreds of megabytes for five endpoints. This client adds what
every call needs: the bearer token (fetched again once if Graph says 401), throttling
honoured (429 and 503 carry Retry-After; Graph allows 4 concurrent requests and 10,000 per
10 minutes per mailbox), and errors turned into one exception that says whether trying
later may help.

The seam to the network is httpx's transport; tests replay recorded responses with respx.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from mailagent.microsoft.oauth import Invalidatable

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_ATTEMPTS = 5
LONGEST_WAIT_SECONDS = 120.0  # a longer Retry-After is left to the caller's own backoff


class GraphError(Exception):
    """Graph refused a request or could not be reached."""

    def __init__(self, status: int | None, code: str, message: str) -> None:
        self.status, self.code = status, code
        super().__init__(f"Graph {status or 'unreachable'} {code}: {message}".strip())


class GraphClient:
    def __init__(
        self,
        token_provider: Callable[[], str],
        *,
        base_url: str = "https://graph.microsoft.com/v1.0",
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = token_provider
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def mailbox_url(self, mailbox: str, *parts: str) -> str:
        """/users/{mailbox}/{parts...}, each part escaped."""
        path = "/".join(quote(part, safe="$") for part in ("users", mailbox, *parts))
        return f"{self.base_url}/{path}"

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send, waiting out throttling; a 2xx response, or GraphError."""
        fresh_token_tried = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                token = self._tokens()
            except OSError as exc:  # OAuthError: the identity platform said no, or is away
                raise GraphError(None, "NoAccessToken", str(exc)) from exc
            try:
                response = self._http.request(
                    method, url, json=json, content=content, params=params,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError as exc:
                raise GraphError(None, type(exc).__name__, str(exc)) from exc
            if response.is_success:
                return response
            if response.status_code == 401 and not fresh_token_tried:
                fresh_token_tried = True  # expired or revoked under us: one fresh token
                if isinstance(self._tokens, Invalidatable):
                    self._tokens.invalidate()
                continue
            wait = _retry_after(response, attempt)
            if response.status_code in RETRY_STATUSES and attempt < MAX_ATTEMPTS and (
                wait <= LONGEST_WAIT_SECONDS
            ):
                log.info("Graph answered %s; waiting %.0f s", response.status_code, wait)
                self._sleep(wait)
                continue
            raise _error(response)
        raise AssertionError("unreachable")  # the loop returns or raises

    def get_json(self, url: str, **kwargs: Any) -> dict[str, Any]:
        return self.request("GET", url, **kwargs).json()

    def close(self) -> None:
        self._http.close()


def _retry_after(response: httpx.Response, attempt: int) -> float:
    """Retry-After in seconds (or as a date); without one, 2, 4, 8... seconds."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    return float(2**attempt)


def _error(response: httpx.Response) -> GraphError:
    try:
        body = response.json().get("error", {})
    except ValueError:
        body = {}
    return GraphError(
        response.status_code, str(body.get("code", "")), str(body.get("message", ""))[:300]
    )
