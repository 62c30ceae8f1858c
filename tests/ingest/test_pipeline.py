"""Topic routing of the pipeline: MQTT filter semantics and format choice."""

from __future__ import annotations

import pytest

from vuonso.core.settings import load_settings
from vuonso.ingest.pipeline import Pipeline, filter_pattern

FILTER_CASES = [
    ("vuonso/devices/+/up", "vuonso/devices/st-1/up", True),
    ("vuonso/devices/+/up", "vuonso/devices/st-1/down", False),
    ("vuonso/devices/+/up", "vuonso/devices/a/b/up", False),
    ("vuonso/devices/+/up", "vuonso/devices//up", True),
    ("v3/+/devices/+/up", "v3/app@ttn/devices/dl-1/up", True),
    ("a/#", "a", True),
    ("a/#", "a/b/c", True),
    ("a/#", "ab", False),
    ("#", "anything/at/all", True),
    ("a/+/c", "a/b.c/c", True),
    ("a.b/+", "axb/c", False),
]


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), FILTER_CASES)
def test_filter_pattern_matches_mqtt(topic_filter: str, topic: str, expected: bool) -> None:
    assert bool(filter_pattern(topic_filter).match(topic)) is expected


def test_pipeline_routes_formats_and_fixes() -> None:
    pipeline = Pipeline(load_settings())

    assert pipeline.format_for("vuonso/devices/st-1/up") == "json"
    assert pipeline.format_for("vuonso/senml/st-1") == "senml"
    assert pipeline.format_for("application/7/device/0004a30b001c0530/event/up") == "chirpstack"
    assert pipeline.format_for("v3/app@ttn/devices/dl-1/up") == "tts"
    assert pipeline.format_for("elsewhere/st-1") is None
    assert pipeline.is_fix("vuonso/fixes/phone-7")
    assert pipeline.format_for("vuonso/fixes/phone-7") is None
