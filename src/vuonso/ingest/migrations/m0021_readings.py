"""Create the readings table: a TimescaleDB hypertable where the extension exists, else native
monthly range partitions. Both shapes have the same columns, key and queries."""

from __future__ import annotations

import logging

import psycopg

from vuonso.core.settings import Settings
from vuonso.ingest import partitions

log = logging.getLogger(__name__)

_TABLE = """
CREATE TABLE ingest.readings (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    metric       text NOT NULL,
    value        double precision NOT NULL,
    unit         text NOT NULL,
    plot_id      bigint,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (device_id, metric, time)
){partition_clause}
"""


def _timescale_available(conn: psycopg.Connection) -> bool:
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        log.info("TimescaleDB not available (%s); using native monthly partitions",
                 str(exc).strip().splitlines()[0])
        return False
    return True


def upgrade(conn: psycopg.Connection, settings: Settings) -> None:
    if _timescale_available(conn):
        conn.execute(_TABLE.format(partition_clause="").encode())
        conn.execute(
            "SELECT create_hypertable('ingest.readings', 'time',"
            " chunk_time_interval => interval '7 days')"
        )
        conn.execute(
            "ALTER TABLE ingest.readings SET (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'device_id, metric')"
        )
        conn.execute(
            "SELECT add_compression_policy('ingest.readings', %s::interval)",
            (f"{settings.readings_compress_after_days} days",),
        )
        conn.execute(
            "SELECT add_retention_policy('ingest.readings', %s::interval)",
            (f"{settings.readings_retention_days} days",),
        )
    else:
        conn.execute(_TABLE.format(partition_clause=" PARTITION BY RANGE (time)").encode())
        conn.execute(
            "CREATE INDEX readings_time_brin ON ingest.readings USING brin (time)"
            " WITH (autosummarize = on)"
        )
        partitions.ensure_ahead(conn)
    conn.execute("CREATE INDEX readings_plot_metric_time ON ingest.readings (plot_id, metric, time)")
    conn.execute(
        "COMMENT ON TABLE ingest.readings IS 'One row per device, metric and device time;"
        " values in the canonical unit of the metric.'"
    )
