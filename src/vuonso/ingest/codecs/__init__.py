"""Device codecs: raw LoRaWAN bytes -> vendor object -> measurements, one codec per model.

`MODELS` is the list of device models the platform supports. A model maps to None when it
sends JSON or SenML and so has no byte codec (the platform's own station).
"""

from __future__ import annotations

from vuonso.ingest.codecs import dragino, sensecap
from vuonso.ingest.codecs.base import Codec, Measurement
from vuonso.ingest.codecs.decentlab import DL_5TM_CODEC, DL_ATM41_CODEC, DL_TBRG_CODEC
from vuonso.ingest.codecs.milesight import EM500_SMT_CODEC, EM500_SMTC_CODEC

STATION_MODEL = "vuonso-station"

MODELS: dict[str, Codec | None] = {
    STATION_MODEL: None,
    **{
        codec.name: codec
        for codec in (
            dragino.CODEC,
            sensecap.CODEC,
            DL_5TM_CODEC,
            DL_ATM41_CODEC,
            DL_TBRG_CODEC,
            EM500_SMT_CODEC,
            EM500_SMTC_CODEC,
        )
    },
}

__all__ = ["MODELS", "STATION_MODEL", "Codec", "Measurement"]
