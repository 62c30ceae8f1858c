"""LoRaWAN uplinks of simulated devices: the vendors' byte layouts (`ENCODERS`) and the JSON
envelopes ChirpStack v4 and The Things Stack v3 publish on MQTT.

Envelopes carry the raw bytes only (ChirpStack `data`, TTS `frm_payload`, both base64), never a
decoded object, so the platform's own codecs do the decoding. Radio metadata follows the AS923-2
channel plan used in Vietnam: 921.4-922.8 MHz in 200 kHz steps.
"""

from __future__ import annotations

import base64
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vuonso.ingest.codecs.sensecap import crc16_kermit
from vuonso.simulators.corps import StationSpec
from vuonso.simulators.stations import Sample

AS923_2_CHANNELS_HZ = tuple(921_400_000 + 200_000 * index for index in range(8))
TBRG_RESOLUTION_MM = 0.1  # Decentlab DL-TBRG: one count of the precipitation word is 0.1 mm
DECENTLAB_PROTOCOL = 2
REPORT_INTERVAL_MIN = 15  # stated in the SenseCAP battery frame


@dataclass(frozen=True, slots=True)
class Uplink:
    port: int
    payload: bytes


Encoder = Callable[[StationSpec, Sample], Uplink]


def _u16(value: float) -> bytes:
    return max(0, min(0xFFFF, round(value))).to_bytes(2, "big")


def _i16(value: float) -> bytes:
    return max(-0x8000, min(0x7FFF, round(value))).to_bytes(2, "big", signed=True)


def _u16_le(value: float) -> bytes:
    return max(0, min(0xFFFF, round(value))).to_bytes(2, "little")


def _i16_le(value: float) -> bytes:
    return max(-0x8000, min(0x7FFF, round(value))).to_bytes(2, "little", signed=True)


def _station_number(spec: StationSpec) -> int:
    return int(spec.device_id.rsplit("-", 1)[-1]) if spec.device_id[-1].isdigit() else 0


def battery_percent(volts: float) -> int:
    """Estimate the remaining charge (%) of a Li-SOCl2 cell from its voltage, linearly from
    empty at 3.0 V to full at 3.6 V. The map is rough because these cells keep their voltage until
    nearly empty."""
    return max(0, min(100, round((volts - 3.0) / 0.6 * 100)))


def encode_lse01(spec: StationSpec, sample: Sample) -> Uplink:
    """Dragino LSE01, FPort 2: battery mV, probe temperature, soil water, soil temperature, EC."""
    values = sample.values
    payload = (
        _u16(values["battery"] * 1000)
        + _i16(values["air_temperature"] * 10)
        + _u16(values["soil_moisture_20cm"] * 100)
        + _i16(values["soil_temperature"] * 100)
        + _u16(values["soil_ec"])
        + bytes([0x00])
    )
    return Uplink(2, payload)


def _decentlab(spec: StationSpec, groups: list[list[float]]) -> bytes:
    """Protocol version 2: version, device id, flags with one bit per present group, words."""
    flags = (1 << len(groups)) - 1
    body = b"".join(_u16(word) for group in groups for word in group)
    return bytes([DECENTLAB_PROTOCOL]) + _u16(_station_number(spec)) + _u16(flags) + body


def _topp_permittivity(water_content: float) -> float:
    """Invert the Topp equation (volumetric water content m³/m³ -> dielectric permittivity)."""
    def topp(permittivity: float) -> float:
        return 4.3e-6 * permittivity**3 - 5.5e-4 * permittivity**2 + 2.92e-2 * permittivity - 5.3e-2

    low, high = 1.0, 80.0  # the equation rises monotonically over this range
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if topp(middle) < water_content else (low, middle)
    return (low + high) / 2


def encode_dl_5tm(spec: StationSpec, sample: Sample) -> Uplink:
    """Decentlab DL-5TM, FPort 1: permittivity (x50), soil temperature (x10 + 400), battery mV."""
    values = sample.values
    permittivity = _topp_permittivity(values["soil_moisture_20cm"] / 100)
    groups = [[permittivity * 50, values["soil_temperature"] * 10 + 400], [values["battery"] * 1000]]
    return Uplink(1, _decentlab(spec, groups))


def encode_dl_atm41(spec: StationSpec, sample: Sample) -> Uplink:
    """Decentlab DL-ATM41, FPort 1: 17 words offset by 32768, then battery mV."""
    values = sample.values
    speed, direction = values["wind_speed"], values["wind_direction"]
    # Wind from `direction` blows towards the opposite side: components point away from it.
    north = -speed * math.cos(math.radians(direction))
    east = -speed * math.sin(math.radians(direction))
    words = [
        values["solar_radiation"],
        min(values["rainfall"], 32.0) * 1000,
        0,  # lightning strikes
        0,  # lightning average distance, km
        speed * 100,
        direction * 10,
        values["wind_gust"] * 100,
        values["air_temperature"] * 10,
        values["vapour_pressure"] / 10 * 100,  # hPa -> kPa, then the vendor's x100
        values["air_pressure"] / 10 * 100,
        values["relative_humidity"] * 10,
        (values["air_temperature"] + 1.5) * 10,  # the logger's internal temperature
        0.4 * 10,
        -0.3 * 10,  # orientation angles of a levelled station
        0,  # compass heading
        north * 100,
        east * 100,
    ]
    groups = [[word + 32768 for word in words], [values["battery"] * 1000]]
    return Uplink(1, _decentlab(spec, groups))


def encode_dl_tbrg(spec: StationSpec, sample: Sample) -> Uplink:
    """Decentlab DL-TBRG, FPort 1: counts in the interval, interval s, cumulative counts, battery."""
    counts = round(sample.values["rainfall"] / TBRG_RESOLUTION_MM)
    total = round(sample.rain_total_mm / TBRG_RESOLUTION_MM) % (1 << 32)
    groups = [[counts, sample.interval_s, total & 0xFFFF, total >> 16], [sample.values["battery"] * 1000]]
    return Uplink(1, _decentlab(spec, groups))


def _milesight(sample: Sample, moisture: bytes, with_ec: bool) -> bytes:
    values = sample.values
    payload = (
        bytes([0x01, 0x75, battery_percent(values["battery"])])
        + bytes([0x03, 0x67]) + _i16_le(values["soil_temperature"] * 10)
        + moisture
    )
    if with_ec:
        payload += bytes([0x05, 0x7F]) + _u16_le(values["soil_ec"])
    return payload


def encode_em500_smt(spec: StationSpec, sample: Sample) -> Uplink:
    """Milesight EM500-SMT, FPort 85: battery %, temperature, moisture at 0.01 % (channel 04 CA)."""
    moisture = bytes([0x04, 0xCA]) + _u16_le(sample.values["soil_moisture_20cm"] * 100)
    return Uplink(85, _milesight(sample, moisture, with_ec=False))


def encode_em500_smtc(spec: StationSpec, sample: Sample) -> Uplink:
    """Milesight EM500-SMTC, FPort 85: battery %, temperature, moisture at 0.5 %, EC µS/cm."""
    moisture = bytes([0x04, 0x68, max(0, min(255, round(sample.values["soil_moisture_20cm"] * 2)))])
    return Uplink(85, _milesight(sample, moisture, with_ec=True))


def _sensecap_frame(channel: int, data_id: int, value: bytes) -> bytes:
    return bytes([channel]) + data_id.to_bytes(2, "little") + value


def encode_s2105(spec: StationSpec, sample: Sample) -> Uplink:
    """SenseCAP S2105, FPort 3: battery and interval frame, then soil temperature (4102),
    moisture (4103) and EC in dS/m (4108), each int32 x1000; a CRC-16/KERMIT closes the frames."""
    values = sample.values

    def measurement(data_id: int, value: float) -> bytes:
        return _sensecap_frame(1, data_id, round(value * 1000).to_bytes(4, "little", signed=True))

    body = (
        _sensecap_frame(0, 0x0007, _u16_le(battery_percent(values["battery"])) + _u16_le(REPORT_INTERVAL_MIN))
        + measurement(4102, values["soil_temperature"])
        + measurement(4103, values["soil_moisture_20cm"])
        + measurement(4108, values["soil_ec"] / 1000)
    )
    return Uplink(3, body + crc16_kermit(body).to_bytes(2, "little"))


ENCODERS: dict[str, Encoder] = {
    "decentlab-dl-5tm": encode_dl_5tm,
    "decentlab-dl-atm41": encode_dl_atm41,
    "decentlab-dl-tbrg": encode_dl_tbrg,
    "dragino-lse01": encode_lse01,
    "milesight-em500-smt": encode_em500_smt,
    "milesight-em500-smtc": encode_em500_smtc,
    "sensecap-s2105": encode_s2105,
}


def _iso_utc(moment: datetime, *, z: bool) -> str:
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z") if z else text


class EnvelopeBuilder:
    """Builder of network-server JSON around uplinks, with frame counters and one gateway per farm."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(f"{seed}:radio")
        self.frame_counters: dict[str, int] = {}

    def _gateway(self, spec: StationSpec) -> tuple[str, float]:
        """Gateway EUI of the station's farm, and a received signal strength for the station."""
        farm_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"https://vuonso.invalid/gw/{spec.farm_code}")
        number = int(farm_uuid.hex[:6], 16)
        distance_km = 0.3 + 2.0 * random.Random(f"{self.seed}:gw:{spec.device_id}").random()
        rssi = -75 - 25 * math.log10(distance_km) + self.rng.gauss(0, 3)
        return f"ac1f09fffe{number:06x}", rssi

    def _radio(self, spec: StationSpec) -> dict[str, Any]:
        gateway, rssi = self._gateway(spec)
        counter = self.frame_counters.get(spec.device_id, -1) + 1
        self.frame_counters[spec.device_id] = counter
        return {
            "gateway": gateway,
            "rssi": round(rssi),
            "snr": round(max(-15.0, min(12.0, (rssi + 110) / 3 + self.rng.gauss(0, 1))), 1),
            "frequency": self.rng.choice(AS923_2_CHANNELS_HZ),
            "spreading_factor": self.rng.choice((7, 7, 8, 9, 10)),
            "frame_counter": counter,
            "dev_addr": f"{int(spec.dev_eui or '0', 16) & 0x01FFFFFF | 0x26000000:08x}",
        }

    def chirpstack(self, spec: StationSpec, uplink: Uplink, moment: datetime) -> dict[str, Any]:
        """Build a ChirpStack v4 `up` event with the raw payload in `data`."""
        radio = self._radio(spec)
        application_id = spec.application or ""
        return {
            "deduplicationId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "time": _iso_utc(moment, z=False),
            "deviceInfo": {
                "tenantId": str(uuid.uuid5(uuid.NAMESPACE_URL, "https://vuonso.invalid/tenant")),
                "tenantName": "Binh đoàn 15",
                "applicationId": application_id,
                "applicationName": f"Cảm biến {spec.company_code}",
                "deviceProfileId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://vuonso.invalid/{spec.model}")),
                "deviceProfileName": spec.model,
                "deviceName": spec.device_id,
                "devEui": spec.dev_eui,
                "deviceClassEnabled": "CLASS_A",
                "tags": {"farm": spec.farm_code, "plot": spec.plot_code},
            },
            "devAddr": radio["dev_addr"],
            "adr": True,
            "dr": 12 - radio["spreading_factor"],
            "fCnt": radio["frame_counter"],
            "fPort": uplink.port,
            "confirmed": False,
            "data": base64.b64encode(uplink.payload).decode("ascii"),
            "rxInfo": [{
                "gatewayId": radio["gateway"],
                "uplinkId": self.rng.getrandbits(32),
                "gwTime": _iso_utc(moment - timedelta(milliseconds=40), z=False),
                "nsTime": _iso_utc(moment - timedelta(milliseconds=15), z=False),
                "rssi": radio["rssi"],
                "snr": radio["snr"],
                "channel": AS923_2_CHANNELS_HZ.index(radio["frequency"]),
                "rfChain": 0,
                "context": base64.b64encode(self.rng.getrandbits(32).to_bytes(4, "big")).decode("ascii"),
                "metadata": {"region_config_id": "as923_2", "region_common_name": "AS923_2"},
                "crcStatus": "CRC_OK",
            }],
            "txInfo": {
                "frequency": radio["frequency"],
                "modulation": {"lora": {"bandwidth": 125_000,
                                        "spreadingFactor": radio["spreading_factor"],
                                        "codeRate": "CR_4_5"}},
            },
        }

    def tts(self, spec: StationSpec, uplink: Uplink, moment: datetime) -> dict[str, Any]:
        """Build a The Things Stack v3 uplink message with the raw payload in `frm_payload`."""
        radio = self._radio(spec)
        application_id = (spec.application or "@").split("@", 1)[0]
        received = _iso_utc(moment, z=True)
        gateway_time = _iso_utc(moment - timedelta(milliseconds=40), z=True)
        return {
            "end_device_ids": {
                "device_id": spec.device_id,
                "application_ids": {"application_id": application_id},
                "dev_eui": (spec.dev_eui or "").upper(),
                "join_eui": "0000000000000000",
                "dev_addr": radio["dev_addr"].upper(),
            },
            "correlation_ids": [f"as:up:{uuid.UUID(int=self.rng.getrandbits(128)).hex.upper()}"],
            "received_at": received,
            "uplink_message": {
                "f_port": uplink.port,
                "f_cnt": radio["frame_counter"],
                "frm_payload": base64.b64encode(uplink.payload).decode("ascii"),
                "rx_metadata": [{
                    "gateway_ids": {"gateway_id": f"gw-{spec.farm_code.lower()}",
                                    "eui": radio["gateway"].upper()},
                    "time": gateway_time,
                    "timestamp": self.rng.getrandbits(32),
                    "rssi": radio["rssi"],
                    "channel_rssi": radio["rssi"],
                    "snr": radio["snr"],
                    "channel_index": AS923_2_CHANNELS_HZ.index(radio["frequency"]),
                }],
                "settings": {
                    "data_rate": {"lora": {"bandwidth": 125_000,
                                           "spreading_factor": radio["spreading_factor"],
                                           "coding_rate": "4/5"}},
                    "frequency": str(radio["frequency"]),
                    "time": gateway_time,
                },
                "received_at": received,
                "network_ids": {"tenant_id": (spec.application or "@").split("@", 1)[1]},
            },
        }

    def envelope(self, spec: StationSpec, sample: Sample) -> dict[str, Any]:
        """Encode the sample with the station's model and wrap it for its network server."""
        uplink = ENCODERS[spec.model](spec, sample)
        if spec.transport == "chirpstack":
            return self.chirpstack(spec, uplink, sample.time)
        return self.tts(spec, uplink, sample.time)
