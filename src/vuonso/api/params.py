"""Query parameter types shared by routers.

This module keeps postponed annotations off on purpose: FastAPI reads the signature of the
dependency that aware_time_query() builds at run time, and its Query alias is a closure value.
"""

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query

from vuonso.core.errors import InvalidInput

TIME_EXAMPLE = "2025-03-10T00:00:00+07:00"
# A "+" that a client did not percent-encode arrives as a space: "...T00:00:00 07:00".
_UNENCODED_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_aware_time(parameter: str, value: str) -> datetime:
    """Parse an ISO 8601 time that carries a UTC offset; raise InvalidInput naming the parameter."""
    text = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"{parameter}={value!r} is not an ISO 8601 time; use a form such as {TIME_EXAMPLE}",
            key="api.time_invalid", parameter=parameter, value=value, example=TIME_EXAMPLE,
        ) from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            f"{parameter}={value!r} has no UTC offset; add one such as +07:00 or Z",
            key="api.time_naive", parameter=parameter, value=value, example=TIME_EXAMPLE,
        )
    return moment


def aware_time_query(name: str, description: str) -> Any:
    """Build a dependency for the optional query parameter `name`, a timezone-aware datetime.

    A time without an offset or not in ISO 8601 is a 422 whose message names the parameter and
    the value. Use as `Annotated[datetime | None, aware_time_query("from", "...")]`.
    """

    def dependency(
        value: Annotated[str | None, Query(alias=name, description=description,
                                           examples=[TIME_EXAMPLE])] = None,
    ) -> datetime | None:
        return None if value is None else parse_aware_time(name, value)

    return Depends(dependency)
