"""Error classification: a malformed reply is Amazon's, our own exceptions are bugs."""

from __future__ import annotations

import json

import pytest

from app.amazon.spapi import factory
from app.errors import AmazonBadResponse


def test_unreadable_json_is_a_bad_reply() -> None:
    try:
        json.loads("<html>")
    except json.JSONDecodeError as exc:
        assert isinstance(factory.classify(exc), AmazonBadResponse)


@pytest.mark.parametrize("exc", [TypeError("x"), KeyError("x"), ValueError("x")])
def test_our_own_errors_are_bugs_not_bad_replies(exc: Exception) -> None:
    with pytest.raises(type(exc)):
        factory.classify(exc)
