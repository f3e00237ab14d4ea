"""The SP-API client shares one TLS context that still verifies certificates."""

from __future__ import annotations

import ssl

from app.amazon.models import Credentials, Region, Store
from app.amazon.spapi import factory
from app.amazon.spapi.orders import SpApiOrdersClient


def _store() -> Store:
    return Store(
        id=1,
        name="S",
        region=Region.NA,
        marketplace_ids=("ATVPDKIKX0DER",),
        lwa_client_id="amzn1.application-oa2-client.x",
    )


def test_context_verifies_hosts_and_certificates() -> None:
    ctx = factory.tls_context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert factory.tls_context() is ctx  # built once per process


def test_api_and_token_clients_use_the_shared_context() -> None:
    creds = Credentials(lwa_client_secret="s" * 20, refresh_token="Atzr|" + "t" * 20)
    first = SpApiOrdersClient(_store(), creds)
    second = SpApiOrdersClient(_store(), creds)
    try:
        for client in (first, second):
            assert client._api.verify is factory.tls_context()
            assert client._api._auth.verify is factory.tls_context()
    finally:
        first.close()
        second.close()
