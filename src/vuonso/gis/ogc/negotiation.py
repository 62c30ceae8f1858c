"""Choose the response format from the `f` parameter or, without it, the Accept header."""

from __future__ import annotations

from vuonso.gis.ogc.params import Format

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_JSON_TYPES = ("application/json", "application/geo+json", "application/vnd.oai.openapi+json",
               "application/schema+json")


def _quality(accept: str, media_types: tuple[str, ...]) -> float:
    """Return the highest q that the Accept header gives any of the media types."""
    best = 0.0
    for entry in accept.split(","):
        parts = [part.strip() for part in entry.split(";")]
        media = parts[0].lower()
        quality = 1.0
        for parameter in parts[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media in media_types or media == "*/*" or (
                media.endswith("/*") and any(known.startswith(media[:-1]) for known in media_types)):
            best = max(best, quality)
    return best


def choose_format(requested: Format | None, accept: str | None) -> Format:
    """Return `f` when given; else HTML only when the client prefers it over JSON."""
    if requested is not None:
        return requested
    if not accept:
        return "json"
    html = _quality(accept, _HTML_TYPES)
    # A bare */* counts for both, so only an explicit preference for HTML selects it.
    return "html" if html > _quality(accept, _JSON_TYPES) else "json"
