"""Fixtures of the simulator tests: the demo corps and a counting MQTT subscriber."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.support.services import Broker
from vuonso.simulators.corps import Corps, build_corps

# Plot status depends on age, so tests fix the year instead of reading the clock.
REFERENCE_YEAR = 2025


@pytest.fixture(scope="session")
def corps() -> Corps:
    return build_corps(1, REFERENCE_YEAR)


class CountingSubscriber:
    """A QoS 1 subscriber that records every message it receives on a broker."""

    def __init__(self, broker: Broker, topic_filter: str = "#") -> None:
        self.topic_filter = topic_filter
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                   client_id=f"counter-{uuid.uuid4().hex[:8]}",
                                   protocol=MQTTProtocolVersion.MQTTv5)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._port = broker.port

    def start(self) -> None:
        self._client.connect("127.0.0.1", self._port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "the counting subscriber got no SUBACK"

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def wait_for(self, count: int, timeout: float = 30.0) -> int:
        """Wait until at least `count` messages arrived; return how many did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.count < count:
            time.sleep(0.02)
        return self.count

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, properties: Properties | None) -> None:
        client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reasons: list[ReasonCode], properties: Properties | None) -> None:
        if not any(reason.is_failure for reason in reasons):
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))


@pytest.fixture()
def subscriber(broker: Broker) -> Iterator[CountingSubscriber]:
    instance = CountingSubscriber(broker)
    instance.start()
    yield instance
    instance.stop()
