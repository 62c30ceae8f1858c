"""The FastAPI app: routers per area, dependencies, error handlers and phone pages."""
