"""An MQTT v5 publisher with a bounded number of unacknowledged messages.

paho-mqtt numbers outgoing QoS 1 messages with 16-bit message ids and keeps them in a dict keyed
by that id, so with 65,535 or more messages outstanding a new message silently replaces an old
one. `Publisher.publish` therefore takes a slot from a semaphore before handing a message to paho,
and the network thread gives the slot back when the PUBACK arrives. So at most `max_inflight`
messages are ever outstanding, and a caller that outruns the broker blocks instead.

One class serves the station simulator, the demo, tests and benchmarks:

    with Publisher("mqtt://127.0.0.1:1884", max_inflight=500) as publisher:
        publisher.publish("vuonso/devices/st-0001/up", payload)
        publisher.wait_all_acked(timeout=30)
        print(publisher.stats.published, publisher.stats.acknowledged)
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from vuonso.core.settings import redact_url
from vuonso.simulators.errors import BrokerUnavailable, PublishTimeout

log = logging.getLogger(__name__)

# Message ids are 16-bit and 0 is reserved, so 65,535 outstanding messages would wrap around.
MESSAGE_ID_LIMIT = 65_535
DEFAULT_MAX_INFLIGHT = 1_000
NO_MATCHING_SUBSCRIBERS = 0x10  # MQTT v5 PUBACK reason: accepted, but no subscription matches


@dataclass(frozen=True, slots=True)
class PublishStats:
    """Counters of one publisher since it was created."""

    published: int  # messages handed to the client
    acknowledged: int  # PUBACKs with a success reason code (QoS 0: messages written to the socket)
    rejected: int  # PUBACKs with a failure reason code, such as 0x87 not authorised
    inflight: int  # published minus acknowledged minus rejected
    max_inflight_seen: int
    no_subscribers: int  # acknowledged with 0x10: no subscription matched, so the broker dropped them


class Publisher:
    """A paho client on its own network thread with at most `max_inflight` unacknowledged
    messages; several threads may publish through one instance."""

    def __init__(self, url: str, *, client_id: str | None = None, qos: int = 1,
                 max_inflight: int = DEFAULT_MAX_INFLIGHT, publish_timeout_s: float = 30.0) -> None:
        if not 1 <= max_inflight < MESSAGE_ID_LIMIT:
            raise ValueError(f"max_inflight must be between 1 and {MESSAGE_ID_LIMIT - 1}, got {max_inflight}")
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
            raise BrokerUnavailable(f"unsupported MQTT URL scheme {parts.scheme!r} in {redact_url(url)}; "
                                    "use mqtt://HOST:PORT or mqtts://HOST:PORT")
        self.url = url
        self.qos = qos
        self.max_inflight = max_inflight
        self.publish_timeout_s = publish_timeout_s
        self._host = parts.hostname or "127.0.0.1"
        self._tls = parts.scheme in ("mqtts", "ssl")
        self._port = parts.port or (8883 if self._tls else 1883)

        self._slots = threading.BoundedSemaphore(max_inflight)
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._connect_failure: str | None = None
        self._published = 0
        self._acknowledged = 0
        self._rejected = 0
        self._max_seen = 0
        self._no_subscribers = 0

        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"vuonso-sim-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if parts.username:
            self._client.username_pw_set(parts.username, parts.password)
        if self._tls:
            self._client.tls_set()
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)  # no paho-side limit: the semaphore bounds the queue
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    @property
    def stats(self) -> PublishStats:
        with self._lock:
            inflight = self._published - self._acknowledged - self._rejected
            return PublishStats(self._published, self._acknowledged, self._rejected, inflight,
                                self._max_seen, self._no_subscribers)

    def connect(self, timeout_s: float = 10.0) -> None:
        """Connect and start the network thread; raise BrokerUnavailable when no CONNACK comes."""
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except OSError as exc:
            raise BrokerUnavailable(
                f"cannot connect to the MQTT broker at {redact_url(self.url)}: {exc}; "
                "check MQTT_URL and that the broker is running"
            ) from exc
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            self._client.loop_stop()
            reason = self._connect_failure or f"no CONNACK within {timeout_s:g} s"
            raise BrokerUnavailable(f"MQTT broker at {redact_url(self.url)} did not accept the "
                                    f"connection: {reason}")
        log.info("publisher connected to %s (max %d in flight)", redact_url(self.url), self.max_inflight)

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Queue one message, first waiting for a free in-flight slot.

        Raises PublishTimeout when no PUBACK frees a slot within `publish_timeout_s`.
        """
        if not self._slots.acquire(timeout=self.publish_timeout_s):
            raise PublishTimeout(
                f"no acknowledgement from {redact_url(self.url)} for {self.publish_timeout_s:g} s with "
                f"{self.max_inflight} messages in flight; is the broker overloaded or gone?"
            )
        with self._lock:  # count before paho sends, because the PUBACK may beat publish()'s return
            self._published += 1
            inflight = self._published - self._acknowledged - self._rejected
            self._max_seen = max(self._max_seen, inflight)
        info = self._client.publish(topic, payload, qos=self.qos, retain=retain)
        # While disconnected paho keeps QoS 1 and 2 messages and sends them after reconnecting.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN) or (
                info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and self.qos == 0):
            with self._lock:
                self._published -= 1
            self._slots.release()
            raise BrokerUnavailable(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")

    def publish_when_subscribed(self, topic: str, payload: bytes | str, *, timeout_s: float = 60.0,
                                retry_s: float = 0.5, stop: threading.Event | None = None) -> bool:
        """Publish one QoS 1 message again and again until a subscriber receives it.

        A broker acknowledges a publish that no subscription matches with reason code 0x10 and
        drops the message, so repeating it creates no duplicate. Returns False when `timeout_s` passes
        or `stop` is set first. Use it for the first message of a run, so that the run goes on only
        once a consumer has subscribed.
        """
        if self.qos == 0:
            raise ValueError("publish_when_subscribed needs QoS 1 or 2: QoS 0 has no PUBACK")
        deadline = time.monotonic() + timeout_s
        while True:
            before = self.stats.no_subscribers
            self.publish(topic, payload)
            delivered = self._wait_inflight_zero(max(0.1, min(5.0, deadline - time.monotonic())))
            if delivered and self.stats.no_subscribers == before:
                return True
            if time.monotonic() + retry_s >= deadline:
                return False
            if stop is not None and stop.wait(retry_s):
                return False
            if stop is None:
                time.sleep(retry_s)

    def wait_all_acked(self, timeout: float = 30.0) -> None:
        """Wait until the broker has acknowledged or rejected every published message.

        Raises PublishTimeout when messages are still in flight after `timeout` seconds.
        """
        if not self._wait_inflight_zero(timeout):
            stats = self.stats
            raise PublishTimeout(
                f"{stats.inflight} of {stats.published} messages to {redact_url(self.url)} are still "
                f"unacknowledged after {timeout:g} s; is the broker overloaded or gone?"
            )

    def _wait_inflight_zero(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.stats.inflight == 0:
                return True
            time.sleep(0.02)
        return self.stats.inflight == 0

    def close(self) -> None:
        """Disconnect and stop the network thread; unacknowledged messages are abandoned."""
        self._client.disconnect()
        self._client.loop_stop()
        stats = self.stats
        log.info("publisher closed: %d published, %d acknowledged, %d rejected, max %d in flight",
                 stats.published, stats.acknowledged, stats.rejected, stats.max_inflight_seen)

    def __enter__(self) -> Publisher:
        self.connect()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # paho callbacks run on the network thread and only update counters.
    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            self._connect_failure = str(reason)
            log.error("broker refused the publisher's connection: %s", reason)
            return
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: mqtt.DisconnectFlags,
                       reason: ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            log.warning("publisher disconnected from the broker (%s); paho reconnects", reason)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: ReasonCode,
                    properties: Properties | None) -> None:
        with self._lock:
            if reason.is_failure:
                self._rejected += 1
            else:
                self._acknowledged += 1
                if reason.value == NO_MATCHING_SUBSCRIBERS:
                    self._no_subscribers += 1
        if reason.is_failure:
            log.warning("broker rejected message %d: %s", mid, reason)
        try:
            self._slots.release()
        except ValueError:  # a second callback for one message would free a slot twice
            log.error("paho reported message %d as completed twice; in-flight count is off", mid)
