"""The api.* catalogs: both languages define the same keys, and every code in use has a text."""

from __future__ import annotations

from typing import get_args

import pytest

from vuonso.core import health
from vuonso.core.i18n import catalog
from vuonso.ingest import queries


def _api_keys(language: str) -> set[str]:
    return {key for key in catalog(language) if key.startswith("api.")}


def test_catalogs_define_same_api_keys() -> None:
    assert _api_keys("vi") == _api_keys("en")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_health_error_codes_have_messages(language: str) -> None:
    missing = [code for code in health.ERROR_CODES
               if f"api.health.{code}" not in catalog(language)]
    assert missing == []


@pytest.mark.parametrize("language", ["vi", "en"])
def test_range_reasons_have_messages(language: str) -> None:
    missing = [reason for reason in get_args(queries.RangeReason)
               if f"api.readings.{reason}" not in catalog(language)]
    assert missing == []
