"""Settings read from environment variables, validated once at start-up."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vuonso.core.errors import ConfigError

# Topic filter -> payload format. Each filter is subscribed through the shared subscription group.
DEFAULT_TOPIC_FORMATS: dict[str, str] = {
    "vuonso/devices/+/up": "json",
    "vuonso/senml/+": "senml",
    "application/+/device/+/event/up": "chirpstack",
    "v3/+/devices/+/up": "tts",
}


class Settings(BaseSettings):
    """Every setting of the platform, each overridable by an environment variable of the same name."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: SecretStr = SecretStr("postgresql://vuonso:vuonso@127.0.0.1:5432/vuonso")
    mqtt_url: SecretStr = SecretStr("mqtt://127.0.0.1:1884")
    chain_rpc_url: str = "http://127.0.0.1:8545"

    timezone: str = "Asia/Ho_Chi_Minh"
    language: str = "vi"

    mqtt_client_id: str = "vuonso-ingest"
    # Empty: a plain subscription, for one worker. A name such as "ingest" makes every worker
    # subscribe through $share/NAME/..., so several workers split the stream. Mosquitto 2.0.11
    # does not restore shared subscriptions from its persistence file after a broker restart.
    # Messages published before the workers reconnect are then dropped, while plain persistent
    # subscriptions are restored and lose nothing (checked with the test broker).
    mqtt_share_group: str = ""
    mqtt_session_expiry_s: int = Field(default=86_400, ge=0)
    mqtt_topic_formats: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TOPIC_FORMATS))
    mqtt_fix_topic: str = "vuonso/fixes/+"

    ingest_queue_size: int = Field(default=20_000, ge=100)
    ingest_batch_size: int = Field(default=2_000, ge=1)
    ingest_batch_wait_ms: int = Field(default=20, ge=1)
    ingest_max_payload_bytes: int = Field(default=65_536, ge=256)
    ingest_max_future_s: int = Field(default=600, ge=0)
    ingest_max_age_days: int = Field(default=366, ge=1)

    readings_retention_days: int = Field(default=3_650, ge=30)
    readings_compress_after_days: int = Field(default=30, ge=1)

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65_535)
    upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    # Background tiles of the phone map, e.g. https://tile.example.org/{z}/{x}/{y}.png; without
    # one the map shows plots on a plain background.
    map_tile_url: str | None = None
    map_tile_attribution: str | None = None

    @field_validator("mqtt_topic_formats")
    @classmethod
    def _known_formats(cls, value: dict[str, str]) -> dict[str, str]:
        known = {"json", "senml", "chirpstack", "tts"}
        unknown = {f"{topic}={fmt}" for topic, fmt in value.items() if fmt not in known}
        if unknown:
            raise ValueError(
                f"unknown payload format in {sorted(unknown)}; use one of {sorted(known)}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as "
                             "Asia/Ho_Chi_Minh") from exc
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("vi", "en"):
            raise ValueError(f"unsupported language {value!r}; use 'vi' or 'en'")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, reporting every invalid variable at once."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        ]
        raise ConfigError("invalid settings: " + "; ".join(problems)) from exc


def redact_url(url: str) -> str:
    """Return the URL without secrets, for logs and health output: a password becomes '***' and
    a URL that cannot be parsed is reduced to its scheme."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url.split(":", 1)[0] + "://(invalid URL)"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if port:
        host = f"{host}:{port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))
