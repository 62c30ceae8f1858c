"""`vuonso api ...`: run the HTTP API."""

from __future__ import annotations

import click


@click.group("api")
def api_group() -> None:
    """HTTP API commands."""


@api_group.command("serve")
@click.option("--host", default=None, help="Address to listen on; default API_HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="TCP port; default API_PORT or 8000.")
def serve_command(host: str | None, port: int | None) -> None:
    """Serve the API and the phone pages."""
    import uvicorn

    from vuonso.api.app import create_app
    from vuonso.core.settings import load_settings

    settings = load_settings()
    app = create_app(settings)
    uvicorn.run(app, host=host or settings.api_host, port=port or settings.api_port,
                log_level="info", access_log=False)
