"""Access tokens for Microsoft 365 (client credentials with msal), refreshed before expiry.

The Entra app signs in as itself with a client secret or a certificate; there is no user and
no browser. A `TokenProvider` hands out one bearer token for a set of scopes and fetches a
new one five minutes before the old one expires, so a connection opened with it never starts
with a token about to lapse. A server that still rejects a token (revoked, clock skew) is
answered by `invalidate()`: the next call fetches afresh.

The one seam to the network is the msal application (`ClientCredentialsApp`); tests pass a
fake with the same `acquire_token_for_client` method.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import msal

from mailagent.config import ConfigError, OAuthSettings

log = logging.getLogger(__name__)

OUTLOOK_SCOPES = ("https://outlook.office365.com/.default",)  # IMAP, SMTP (and EWS online)
GRAPH_SCOPES = ("https://graph.microsoft.com/.default",)
REFRESH_MARGIN_SECONDS = 300.0  # msal itself treats a token with < 5 minutes left as expired


class OAuthError(OSError):
    """No token could be had. An OSError on purpose: to every source and transport this is a
    temporary, network-like failure (retried with backoff; an email waiting to be sent is not
    failed because the identity platform was unreachable or the secret was rotated)."""


class ClientCredentialsApp(Protocol):
    """The part of msal.ConfidentialClientApplication we use."""

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]: ...

    def remove_tokens_for_client(self) -> None: ...


@runtime_checkable
class Invalidatable(Protocol):
    """A token provider that can be told its token was refused."""

    def invalidate(self) -> None: ...


class TokenProvider:
    """`provider()` -> a bearer token for `scopes`, cached until shortly before it expires."""

    def __init__(
        self,
        app: ClientCredentialsApp,
        scopes: Sequence[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        margin_seconds: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self.scopes = list(scopes)
        self._app, self._clock, self._margin = app, clock, margin_seconds
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()  # the scheduler's jobs and the watcher share one provider

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._token, lifetime = self._acquire()
                self._refresh_at = self._clock() + max(0.0, lifetime - self._margin)
            return self._token

    def invalidate(self) -> None:
        """Forget the token here and in msal's cache: the server said it is no good."""
        with self._lock:
            self._token = None
            self._app.remove_tokens_for_client()

    def _acquire(self) -> tuple[str, float]:
        try:
            result = self._app.acquire_token_for_client(scopes=self.scopes)
        except OSError as exc:  # requests' errors are OSErrors: the platform is unreachable
            raise OAuthError(f"cannot reach the identity platform: {exc}") from exc
        token = result.get("access_token")
        if not token:
            # error_description names the problem (bad secret, no consent) but never a secret.
            raise OAuthError(
                f"no access token: {result.get('error', 'unknown error')}: "
                f"{result.get('error_description', '')}".strip()
            )
        log.info("access token acquired for %s", " ".join(self.scopes))
        return token, float(result.get("expires_in", 3600))


def build_msal_app(settings: OAuthSettings) -> ClientCredentialsApp:
    """The msal confidential client for the app registration in `settings`."""
    return _LazyMsalApp(settings)


class _LazyMsalApp:
    """msal's app, made on first use. Making it asks the identity platform for the tenant's
    endpoints, and the agent must start (and then wait for the network) without one. The
    secret or certificate is read at once, so a wrong path fails at start."""

    def __init__(self, settings: OAuthSettings) -> None:
        self._client_id = settings.client_id
        self._credential = _credential(settings)
        self._authority = f"{settings.authority_host.rstrip('/')}/{settings.tenant_id}"
        self._app: msal.ConfidentialClientApplication | None = None

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        if self._app is None:
            self._app = msal.ConfidentialClientApplication(
                self._client_id, client_credential=self._credential, authority=self._authority
            )
        return self._app.acquire_token_for_client(scopes=scopes)

    def remove_tokens_for_client(self) -> None:
        if self._app is not None:
            self._app.remove_tokens_for_client()


def _credential(settings: OAuthSettings) -> str | dict[str, Any]:
    if settings.client_secret is not None:
        secret = settings.client_secret.reveal()
        if not secret:
            raise ConfigError("oauth.client_secret: the secret is empty")
        return secret
    assert settings.certificate_file is not None  # the settings insist on one of the two
    path = settings.certificate_file
    passphrase = settings.certificate_password.reveal() if settings.certificate_password else None
    extra = {"passphrase": passphrase} if passphrase else {}
    if path.suffix.lower() in (".pfx", ".p12"):
        # msal reads the key and the certificate and works out the thumbprint itself.
        return {"private_key_pfx_path": str(path), **extra}
    try:
        pem = path.read_text(encoding="ascii")
    except OSError as exc:
        raise ConfigError(f"oauth.certificate_file: cannot read {path}: {exc.strerror}") from exc
    if settings.certificate_thumbprint:
        return {"private_key": pem, "thumbprint": settings.certificate_thumbprint, **extra}
    if "BEGIN CERTIFICATE" not in pem:
        raise ConfigError(
            "oauth.certificate_thumbprint: needed when certificate_file holds only the key"
        )
    return {"private_key": pem, "public_certificate": pem, **extra}


class OAuthApps:
    """One msal app per [oauth] section, and one token provider per set of scopes."""

    def __init__(
        self,
        settings: OAuthSettings,
        app_factory: Callable[[OAuthSettings], ClientCredentialsApp] = build_msal_app,
    ) -> None:
        self.settings = settings
        self._factory = app_factory
        self._app: ClientCredentialsApp | None = None
        self._providers: dict[tuple[str, ...], TokenProvider] = {}

    def provider(self, default_scopes: Sequence[str]) -> TokenProvider:
        """Tokens for the configured scopes, or else for `default_scopes` (the backend's)."""
        scopes = tuple(self.settings.scopes or default_scopes)
        if scopes not in self._providers:
            if self._app is None:
                self._app = self._factory(self.settings)
            self._providers[scopes] = TokenProvider(self._app, scopes)
        return self._providers[scopes]
