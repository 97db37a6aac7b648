"""Tokens from msal: cached, refreshed before expiry, fetched afresh when refused.

No identity platform can be reached from here: msal's ConfidentialClientApplication is
replaced by a fake with the same two methods, which records how it was made and called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailagent.config import ConfigError, OAuthSettings, settings_from_dict
from mailagent.microsoft import oauth
from mailagent.microsoft.oauth import (
    GRAPH_SCOPES,
    OUTLOOK_SCOPES,
    OAuthApps,
    OAuthError,
    TokenProvider,
    build_msal_app,
)


class FakeMsal:
    """Stands in for msal.ConfidentialClientApplication: numbered tokens, one per request."""

    made: list[FakeMsal] = []

    def __init__(self, client_id: str, *, client_credential: Any = None,
                 authority: str | None = None, expires_in: int = 3600) -> None:
        self.client_id, self.credential, self.authority = client_id, client_credential, authority
        self.expires_in = expires_in
        self.requests: list[list[str]] = []
        self.removed = 0
        self.answer: dict[str, Any] | Exception | None = None  # forces the next answer
        FakeMsal.made.append(self)

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        self.requests.append(list(scopes))
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer is not None:
            return self.answer
        return {"access_token": f"token-{len(self.requests)}", "expires_in": self.expires_in,
                "token_type": "Bearer"}

    def remove_tokens_for_client(self) -> None:
        self.removed += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_cached_until_five_minutes_before_it_expires() -> None:
    app, clock = FakeMsal("app"), Clock()
    tokens = TokenProvider(app, OUTLOOK_SCOPES, clock=clock)
    assert tokens() == "token-1"
    clock.now += 3600 - 301
    assert tokens() == "token-1"  # 5 min 1 s left: still good
    clock.now += 2
    assert tokens() == "token-2"  # under 5 min left: a new one before the old one lapses
    assert app.requests == [list(OUTLOOK_SCOPES)] * 2


def test_a_refused_token_is_forgotten_here_and_in_msal() -> None:
    app = FakeMsal("app")
    tokens = TokenProvider(app, GRAPH_SCOPES, clock=Clock())
    assert tokens() == "token-1"
    tokens.invalidate()
    assert app.removed == 1  # or msal would hand back the same token from its cache
    assert tokens() == "token-2"


def test_no_token_is_an_oserror_that_names_the_problem_without_secrets() -> None:
    app = FakeMsal("app")
    app.answer = {"error": "invalid_client",
                  "error_description": "AADSTS7000215: Invalid client secret provided."}
    tokens = TokenProvider(app, OUTLOOK_SCOPES)
    with pytest.raises(OAuthError, match="invalid_client: AADSTS7000215") as caught:
        tokens()
    # Sources and transports treat OSErrors as temporary: retried, never a failed email.
    assert isinstance(caught.value, OSError)
    app.answer = ConnectionError("login.microsoftonline.com unreachable")
    with pytest.raises(OAuthError, match="cannot reach the identity platform"):
        tokens()


def _settings(tmp_path: Path, **oauth_keys: Any) -> OAuthSettings:
    settings = settings_from_dict({
        "agent": {"council": "x", "mailbox": "agent@example.test"},
        "oauth": {"tenant_id": "tenant-1", "client_id": "client-1", **oauth_keys},
    })
    assert settings.oauth is not None
    return settings.oauth


def test_the_msal_app_is_made_on_first_use_with_the_secret(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(oauth.msal, "ConfidentialClientApplication", FakeMsal)
    monkeypatch.setenv("MA_TEST_OAUTH_SECRET", "s3cret")
    FakeMsal.made.clear()
    app = build_msal_app(_settings(tmp_path, client_secret={"env": "MA_TEST_OAUTH_SECRET"}))
    # Making msal's app asks the network for the tenant's endpoints: not at start.
    assert FakeMsal.made == []
    assert app.acquire_token_for_client(scopes=list(GRAPH_SCOPES))["access_token"] == "token-1"
    (made,) = FakeMsal.made
    assert made.client_id == "client-1"
    assert made.authority == "https://login.microsoftonline.com/tenant-1"
    assert made.credential == "s3cret"


def test_certificate_credentials(tmp_path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    credential = oauth._credential(
        _settings(tmp_path, certificate_file=str(pem), certificate_thumbprint="A1B2")
    )
    assert credential == {"private_key": pem.read_text(), "thumbprint": "A1B2"}
    with pytest.raises(ConfigError, match="certificate_thumbprint"):
        oauth._credential(_settings(tmp_path, certificate_file=str(pem)))
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(b"\x30\x82")
    with_password = _settings(tmp_path, certificate_file=str(pfx),
                              certificate_password={"file": str(tmp_path / "pw")})
    (tmp_path / "pw").write_text("pfx-pass\n")
    assert oauth._credential(with_password) == {
        "private_key_pfx_path": str(pfx), "passphrase": "pfx-pass",
    }


def test_oauth_settings_want_exactly_one_credential(tmp_path) -> None:
    with pytest.raises(ConfigError, match="either client_secret or certificate_file"):
        _settings(tmp_path)
    with pytest.raises(ConfigError, match="Microsoft Graph needs an \\[oauth\\] section"):
        settings_from_dict({"agent": {"council": "x", "mailbox": "a@b"},
                            "transport": {"kind": "graph"}})


def test_one_app_one_provider_per_scope_set(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MA_TEST_OAUTH_SECRET", "s3cret")
    made: list[FakeMsal] = []

    def factory(settings: OAuthSettings) -> FakeMsal:
        made.append(FakeMsal(settings.client_id))
        return made[-1]

    apps = OAuthApps(_settings(tmp_path, client_secret={"env": "MA_TEST_OAUTH_SECRET"}), factory)
    outlook = apps.provider(OUTLOOK_SCOPES)
    assert apps.provider(OUTLOOK_SCOPES) is outlook
    assert apps.provider(GRAPH_SCOPES).scopes == list(GRAPH_SCOPES)
    assert len(made) == 1
    pinned = OAuthApps(_settings(tmp_path, client_secret={"env": "MA_TEST_OAUTH_SECRET"},
                                 scopes=["api://custom/.default"]), factory)
    assert pinned.provider(GRAPH_SCOPES).scopes == ["api://custom/.default"]
