"""Vườn Số: plantation software for rubber and coffee companies."""

__version__ = "0.1.0"
