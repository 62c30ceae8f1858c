"""Logging set-up for commands and services."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str | None = None) -> None:
    """Configure the root logger once: one line per record, level from LOG_LEVEL (default INFO)."""
    chosen = (level or os.environ.get("LOG_LEVEL", "INFO")).upper()
    logging.basicConfig(
        level=chosen,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # The HTTP access log of uvicorn and per-request httpx lines drown the lifecycle lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
