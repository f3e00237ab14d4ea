"""A bare HTTP client for the fake SP-API server (tests of the fake itself)."""

from __future__ import annotations

from typing import Any

import httpx

from app.demo import FakeSpApi

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
