"""MQTT v5 subscriber: a persistent session, shared subscriptions made in on_connect, and a
network callback that only enqueues. Acknowledgements are sent by the caller after commit."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from vuonso.core.settings import Settings, redact_url
from vuonso.ingest.errors import BrokerError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A received message and what is needed to acknowledge it on the same connection."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    connection: int


def subscription_filters(settings: Settings) -> list[str]:
    """Return every topic filter the worker subscribes to, inside the shared subscription group if
    one is set."""
    filters = [*settings.mqtt_topic_formats, settings.mqtt_fix_topic]
    group = settings.mqtt_share_group
    return [f"$share/{group}/{topic_filter}" if group else topic_filter for topic_filter in filters]


class Subscriber:
    """Owns the paho client; `deliveries` is the bounded queue the writer reads."""

    def __init__(self, settings: Settings, *, client_id: str | None = None) -> None:
        self.settings = settings
        self.deliveries: queue.Queue[Delivery] = queue.Queue(maxsize=settings.ingest_queue_size)
        self.connected = threading.Event()
        # Set once the broker has granted the subscriptions of the current connection.
        self.subscribed = threading.Event()
        self._connection = 0
        self._lock = threading.Lock()
        url = urlsplit(settings.mqtt_url.get_secret_value())
        if url.scheme not in ("mqtt", "tcp", ""):
            raise BrokerError(f"unsupported MQTT_URL scheme {url.scheme!r}; use mqtt://HOST:PORT")
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or 1883
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or settings.mqtt_client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    @property
    def connection(self) -> int:
        """Counter of successful connections; deliveries carry the value they arrived under."""
        with self._lock:
            return self._connection

    def start(self) -> None:
        """Connect with a persistent session and start the network thread."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.mqtt_session_expiry_s
        try:
            self._client.connect(self._host, self._port, keepalive=30, clean_start=False,
                                 properties=properties)
        except OSError as exc:
            raise BrokerError(
                f"cannot connect to the MQTT broker at "
                f"{redact_url(self.settings.mqtt_url.get_secret_value())}: {exc}; "
                "check MQTT_URL and that the broker is running"
            ) from exc
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge a stored message, unless it arrived on an earlier connection. The broker
        redelivers such messages, and by then their message id may name another message."""
        if delivery.qos == 0 or delivery.connection != self.connection:
            return False
        self._client.ack(delivery.mid, delivery.qos)
        return True

    # paho callbacks run on the network thread: they only record state or enqueue.
    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._connection += 1
        filters = subscription_filters(self.settings)
        client.subscribe([(topic_filter, 1) for topic_filter in filters])
        log.info("connected to the broker (session present: %s), subscribing to %s",
                 flags.session_present, ", ".join(filters))
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reasons: list[ReasonCode], properties: Properties | None) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("broker rejected subscriptions: %s", ", ".join(failed))
            return
        log.info("subscriptions granted")
        self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object,
                       flags: mqtt.DisconnectFlags, reason: ReasonCode,
                       properties: Properties | None) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if reason.is_failure:
            log.warning("disconnected from the broker (%s); reconnecting", reason)
        else:
            log.info("disconnected from the broker")

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        # Blocks when the queue is full: the broker then holds the rest (back pressure).
        self.deliveries.put(Delivery(message.mid, message.qos, message.topic,
                                     bytes(message.payload), datetime.now(UTC), self.connection))
