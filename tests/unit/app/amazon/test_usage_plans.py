"""The usage plans the app and the fake SP-API apply to the Reports API are Amazon's
published ones (tests/data/sp-api-models/reports_2021-06-30.json)."""

from __future__ import annotations

from app.amazon import ratelimit
from app.amazon.spapi.reports import CREATE_REPORT, GET_REPORT, GET_REPORT_DOCUMENT
from app.demo import fake_spapi_faults
from tests.helpers.sp_api_models import usage_plans

REPORTS_MODEL = "reports_2021-06-30.json"
OPERATIONS = (CREATE_REPORT, GET_REPORT, GET_REPORT_DOCUMENT)


def test_the_model_is_read() -> None:
    plans = usage_plans(REPORTS_MODEL)
    assert set(OPERATIONS) <= set(plans)
    assert plans["getReports"] == (0.0222, 10)  # an operation we do not use, as a check


def test_our_client_buckets_follow_amazons_model() -> None:
    model = usage_plans(REPORTS_MODEL)
    assert {op: ratelimit.USAGE_PLANS[op] for op in OPERATIONS} == {
        op: model[op] for op in OPERATIONS
    }


def test_the_fake_sp_api_meters_reports_like_amazon() -> None:
    model = usage_plans(REPORTS_MODEL)
    assert {op: fake_spapi_faults.USAGE_PLANS[op] for op in OPERATIONS} == {
        op: model[op] for op in OPERATIONS
    }
