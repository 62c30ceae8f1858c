"""Exceptions of the OGC API - Features service.

ParameterInvalid (InvalidInput, 400)   a query parameter is unknown, repeated or has an invalid value
CollectionNotFound (NotFoundError)     the collection id names no collection of the service
FeatureNotFound (NotFoundError)        the feature id names no feature of the collection

The API rejects a bad query parameter with 400, as OGC API - Features Part 1 requires, rather
than with the 422 that the rest of the platform uses for invalid bodies.
"""

from __future__ import annotations

from typing import Any

from vuonso.core.errors import InvalidInput, NotFoundError


class ParameterInvalid(InvalidInput):
    """One or more query parameters were rejected; `problems` has one entry per parameter.

    Each problem is a dict with `parameter`, `value` and `message` (in the request's language).
    """

    status = 400
    code = "parameter_invalid"

    def __init__(self, message: str, *, problems: list[dict[str, Any]], key: str,
                 **params: Any) -> None:
        super().__init__(message, problems=problems, key=key, **params)


class CollectionNotFound(NotFoundError):
    code = "collection_not_found"

    def __init__(self, collection: str, known: list[str]) -> None:
        super().__init__(
            f"collection {collection!r} not found; use one of {', '.join(known)}",
            key="gis.ogc.collection_not_found", collection=collection,
            collections=", ".join(known),
        )


class FeatureNotFound(NotFoundError):
    code = "feature_not_found"

    def __init__(self, collection: str, feature_id: str) -> None:
        super().__init__(
            f"feature {feature_id!r} not found in collection {collection!r}",
            key="gis.ogc.feature_not_found", collection=collection, feature=feature_id,
        )
