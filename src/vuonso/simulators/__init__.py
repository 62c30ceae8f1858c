"""Simulated plantation data: the demo corps, sensor stations, LoRaWAN uplinks and an MQTT publisher.

Simulators are clients of the platform: they seed through the owners' public functions and send
readings through the broker, exactly as real devices would.
"""
