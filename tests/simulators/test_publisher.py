"""The bounded QoS 1 publisher against a real Mosquitto broker."""

from __future__ import annotations

import threading

import pytest

from tests.simulators.conftest import CountingSubscriber
from tests.support.services import Broker, free_port
from vuonso.simulators.errors import BrokerUnavailable, PublishTimeout
from vuonso.simulators.publisher import MESSAGE_ID_LIMIT, Publisher


def test_every_message_acknowledged(broker: Broker, subscriber: CountingSubscriber) -> None:
    with Publisher(broker.url) as publisher:
        for index in range(1_000):
            publisher.publish("test/publisher/ack", f"message {index}")
        publisher.wait_all_acked(timeout=30)
        stats = publisher.stats

    assert stats.published == 1_000
    assert stats.acknowledged == 1_000
    assert stats.rejected == 0
    assert stats.inflight == 0
    assert subscriber.wait_for(1_000) == 1_000


def test_inflight_bound_holds(broker: Broker, subscriber: CountingSubscriber) -> None:
    cap = 50
    with Publisher(broker.url, max_inflight=cap) as publisher:
        for index in range(5_000):
            publisher.publish("test/publisher/bound", index.to_bytes(4, "big"))
        publisher.wait_all_acked(timeout=60)
        stats = publisher.stats

    # Publishing 5,000 messages in a tight loop fills the window, and never overfills it.
    assert stats.max_inflight_seen == cap
    assert stats.acknowledged == 5_000
    assert subscriber.wait_for(5_000, timeout=60) == 5_000
    received = sorted(int.from_bytes(payload, "big") for _, payload in subscriber.messages)
    assert received == list(range(5_000))


def test_bound_holds_across_threads(broker: Broker) -> None:
    cap = 20
    with Publisher(broker.url, max_inflight=cap) as publisher:
        def publish_many() -> None:
            for _ in range(500):
                publisher.publish("test/publisher/threads", b"x")

        threads = [threading.Thread(target=publish_many) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        publisher.wait_all_acked(timeout=30)
        stats = publisher.stats

    assert stats.published == 2_000
    assert stats.acknowledged == 2_000
    assert stats.max_inflight_seen <= cap


def test_no_subscriber_reported(broker: Broker) -> None:
    with Publisher(broker.url) as publisher:
        publisher.publish("test/publisher/nobody-listens", b"x")
        publisher.wait_all_acked(timeout=10)
        delivered = publisher.publish_when_subscribed("test/publisher/nobody-listens", b"x",
                                                      timeout_s=1.0, retry_s=0.2)
        stats = publisher.stats

    assert stats.no_subscribers >= 2
    assert not delivered


def test_publish_when_subscribed_waits(broker: Broker) -> None:
    late = CountingSubscriber(broker, "test/publisher/late")
    timer = threading.Timer(1.0, late.start)
    timer.start()
    try:
        with Publisher(broker.url) as publisher:
            delivered = publisher.publish_when_subscribed("test/publisher/late", b"x", timeout_s=15)
        timer.join()
        assert delivered
        assert late.wait_for(1, timeout=5) == 1
    finally:
        timer.join()
        late.stop()


def test_broker_unreachable() -> None:
    publisher = Publisher(f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(BrokerUnavailable, match="cannot connect"):
        publisher.connect(timeout_s=2)


def test_timeout_when_broker_gone() -> None:
    own = Broker()
    own.start()
    try:
        publisher = Publisher(own.url, max_inflight=5, publish_timeout_s=1.0)
        publisher.connect()
        own.stop()
        with pytest.raises(PublishTimeout, match="5 messages in flight"):
            for _ in range(10):
                publisher.publish("test/publisher/gone", b"x")
        assert publisher.stats.inflight == 5
        publisher.close()
    finally:
        own.close()


@pytest.mark.parametrize("cap", [0, MESSAGE_ID_LIMIT])
def test_cap_must_stay_below_message_ids(cap: int) -> None:
    with pytest.raises(ValueError, match="max_inflight"):
        Publisher("mqtt://127.0.0.1:1", max_inflight=cap)
