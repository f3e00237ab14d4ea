"""A bare HTTP client for the fake SP-API server (tests of the fake itself), and a
store pointing the app's real clients at it."""

from __future__ import annotations

from typing import Any

import httpx

from app.amazon.models import Credentials, Region, Store
from app.demo import FakeSpApi
from app.demo.seed_orders import MARKETPLACE_BY_ID

SEARCH = "/orders/2026-01-01/orders"
START = "2026-01-01T00:00:00Z"


class Api:
    """A bare HTTP client for the fake, holding one LWA access token."""

    def __init__(self, srv: FakeSpApi) -> None:
        self.srv = srv
        self.http = httpx.Client(base_url=srv.base_url, timeout=5)
        self.token = self.get_token().json()["access_token"]

    def get_token(self, **override: str) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.srv.refresh_token,
            "client_id": self.srv.client_id,
            "client_secret": self.srv.client_secret,
            **override,
        }
        return self.http.post("/auth/o2/token", data=form)

    def get(self, path: str, token: str | None = None, **params: Any) -> httpx.Response:
        headers = {"x-amz-access-token": self.token if token is None else token}
        return self.http.get(path, params=params, headers=headers)

    def post(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        headers = {"x-amz-access-token": self.token if token is None else token}
        return self.http.post(path, json=body, headers=headers)

    def put(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"x-amz-access-token": self.token if token is None else token}
        return self.http.put(path, headers=headers)

    def search(self, **params: Any) -> httpx.Response:
        return self.get(SEARCH, **params)

    def walk(self, **params: Any) -> tuple[list[dict[str, Any]], int]:
        """All pages of one search; returns the orders and the number of pages."""
        orders: list[dict[str, Any]] = []
        pages = 0
        token = None
        while True:
            extra: dict[str, str] = {"paginationToken": token} if token else {}
            reply = self.search(**params, **extra)
            assert reply.status_code == 200, reply.text
            body = reply.json()
            orders += body["orders"]
            pages += 1
            token = body.get("pagination", {}).get("nextToken")
            if token is None:
                return orders, pages


def fake_store(
    srv: FakeSpApi, marketplace_id: str = "ATVPDKIKX0DER", store_id: int = 1
) -> tuple[Store, Credentials]:
    """A store (and its secrets) whose endpoints are the fake's, for the real clients."""
    region = Region(MARKETPLACE_BY_ID[marketplace_id].region.upper())
    store = Store(
        id=store_id,
        name="Fake",
        region=region,
        marketplace_ids=(marketplace_id,),
        lwa_client_id=srv.client_id,
        sp_api_endpoint=srv.base_url,
        lwa_endpoint=srv.lwa_url,
        demo=True,
    )
    return store, Credentials(srv.client_secret, srv.refresh_token)


def rates_body(order_id: str, **package: Any) -> dict[str, Any]:
    """A GetRatesRequest for an Amazon order (one package of 2 lb unless overridden)."""
    pkg: dict[str, Any] = {
        "dimensions": {"length": 10, "width": 8, "height": 4, "unit": "INCH"},
        "weight": {"value": 2, "unit": "POUND"},
        "insuredValue": {"value": 20, "unit": "USD"},
        "packageClientReferenceId": "pkg-1",
        "items": [{"quantity": 1, "itemIdentifier": "1"}],
        **package,
    }
    return {
        "shipFrom": {
            "name": "Demo Seller",
            "addressLine1": "1 Demo Street",
            "city": "Reno",
            "stateOrRegion": "NV",
            "postalCode": "89502",
            "countryCode": "US",
        },
        "packages": [pkg],
        "channelDetails": {"channelType": "AMAZON", "amazonOrderDetails": {"orderId": order_id}},
    }


def document_spec(fmt: str = "PDF", dpi: int | None = None, slip: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "format": fmt,
        "size": {"width": 4, "length": 6, "unit": "INCH"},
        "needFileJoining": False,
        "requestedDocumentTypes": ["LABEL", "PACKSLIP"] if slip else ["LABEL"],
    }
    if dpi is not None:
        spec["dpi"] = dpi
    return spec
