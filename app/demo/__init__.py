"""Demo mode: a fake Amazon (SP-API over real HTTP) with seeded orders, no Qt."""

from app.demo.fake_spapi import FakeMarketplace, FakeSpApi, RequestRecord
from app.demo.fake_spapi_faults import GET_ORDER, LWA_TOKEN, SEARCH_ORDERS, Fault

__all__ = [
    "GET_ORDER",
    "LWA_TOKEN",
    "SEARCH_ORDERS",
    "FakeMarketplace",
    "FakeSpApi",
    "Fault",
    "RequestRecord",
]
