"""Exceptions of the simulators package.

SimulatorError
 ├── BrokerUnavailable  the MQTT broker cannot be reached or refused the connection
 ├── PublishTimeout     the broker did not acknowledge in time, so no in-flight slot became free
 └── SeedConflict       a demo record exists in a shape the seed did not create
"""

from __future__ import annotations

from vuonso.core.errors import VuonSoError


class SimulatorError(VuonSoError):
    status = 500
    code = "simulator_error"


class BrokerUnavailable(SimulatorError):
    status = 503
    code = "simulator_broker_unavailable"


class PublishTimeout(SimulatorError):
    status = 504
    code = "simulator_publish_timeout"


class SeedConflict(SimulatorError):
    status = 409
    code = "simulator_seed_conflict"
