"""OGC API - Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) over the platform's data.

Framework-free: `service.OgcService` takes a request's path, query pairs and headers and returns
a JSON document or HTML view data; `vuonso.api.routers.ogc` only adapts HTTP to it. Each
collection is a `model.FeatureSource`: plots, farms and tracks here, devices in
`vuonso.ingest.features` because the ingest package owns the device tables.
"""
