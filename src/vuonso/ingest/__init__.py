"""Sensor ingest: MQTT subscriber, payload decoders and codecs, batch writer, dead letters, devices."""
