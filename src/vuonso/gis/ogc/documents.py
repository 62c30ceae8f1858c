"""JSON documents of OGC API - Features Part 1: landing page, conformance, collections, items.

Links are absolute, built from the base URL of the request. Every link carries `f` so that it
names one format whatever the client's Accept header, and `lang` when the request gave one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from vuonso.core.i18n import translate
from vuonso.gis.ogc.model import (
    CRS84,
    DEFAULT_LIMIT,
    GREGORIAN,
    CollectionInfo,
    Extent,
    ItemsQuery,
    Page,
)
from vuonso.gis.ogc.params import Format
from vuonso.gis.ogc.sql import time_text

MEDIA_JSON = "application/json"
MEDIA_GEOJSON = "application/geo+json"
MEDIA_HTML = "text/html"
MEDIA_OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE_CLASSES = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
# Prefix of every OGC API path under the platform's base URL.
PREFIX = "/ogc"


@dataclass(frozen=True, slots=True)
class Urls:
    """Builds absolute links. `base` is scheme, host and port, such as http://127.0.0.1:8000."""

    base: str
    language: str | None = None

    def href(self, path: str, fmt: Format | None = None, **params: Any) -> str:
        """Return the URL of an OGC API path (below /ogc) with its query parameters."""
        return self.site_href(PREFIX + path, fmt, **params)

    def site_href(self, path: str, fmt: Format | None = None, **params: Any) -> str:
        """Return the URL of any path of the platform with its query parameters."""
        pairs = [(name, str(value)) for name, value in params.items() if value is not None]
        if fmt is not None:
            pairs.append(("f", fmt))
        if self.language is not None:
            pairs.append(("lang", self.language))
        query = urlencode(pairs, quote_via=quote, safe=",:/.")
        return self.base.rstrip("/") + path + (f"?{query}" if query else "")


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _self_and_alternate(urls: Urls, path: str, fmt: Format, json_type: str, language: str,
                        **params: Any) -> list[dict[str, str]]:
    """Return the `self` link in the current format and an `alternate` link in the other."""
    as_json = _link(urls.href(path, "json", **params), "self", json_type,
                    translate("gis.ogc.link.json", language))
    as_html = _link(urls.href(path, "html", **params), "self", MEDIA_HTML,
                    translate("gis.ogc.link.html", language))
    if fmt == "json":
        as_html["rel"] = "alternate"
        return [as_json, as_html]
    as_json["rel"] = "alternate"
    return [as_html, as_json]


def landing_page(urls: Urls, fmt: Format, language: str) -> dict[str, Any]:
    links = _self_and_alternate(urls, "", fmt, MEDIA_JSON, language)
    links += [
        _link(urls.href("/api", "json"), "service-desc", MEDIA_OPENAPI,
              translate("gis.ogc.link.service_desc", language)),
        _link(urls.href("/api", "html"), "service-doc", MEDIA_HTML,
              translate("gis.ogc.link.service_doc", language)),
        _link(urls.href("/conformance", "json"), "conformance", MEDIA_JSON,
              translate("gis.ogc.link.conformance", language)),
        _link(urls.href("/collections", "json"), "data", MEDIA_JSON,
              translate("gis.ogc.link.data", language)),
    ]
    return {
        "title": translate("gis.ogc.landing.title", language),
        "description": translate("gis.ogc.landing.description", language),
        "links": links,
    }


def conformance(urls: Urls, fmt: Format, language: str) -> dict[str, Any]:
    return {
        "links": _self_and_alternate(urls, "/conformance", fmt, MEDIA_JSON, language),
        "conformsTo": list(CONFORMANCE_CLASSES),
    }


def _extent(extent: Extent, temporal: bool) -> dict[str, Any] | None:
    document: dict[str, Any] = {}
    if extent.bbox is not None:
        document["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84}
    if temporal and (extent.start is not None or extent.end is not None):
        document["temporal"] = {
            "interval": [[time_text(extent.start), time_text(extent.end)]],
            "trs": GREGORIAN,
        }
    return document or None


def collection(urls: Urls, info: CollectionInfo, extent: Extent, fmt: Format,
               language: str, *, in_list: bool = False) -> dict[str, Any]:
    """Return the description of one collection; inside /collections its first link is `self`."""
    path = f"/collections/{info.id}"
    links = _self_and_alternate(urls, path, fmt, MEDIA_JSON, language)
    if in_list:
        links = [_link(urls.href(path, "json"), "self", MEDIA_JSON,
                       translate(info.title_key, language))]
    links += [
        _link(urls.href(f"{path}/items", "json"), "items", MEDIA_GEOJSON,
              translate("gis.ogc.link.items_json", language)),
        _link(urls.href(f"{path}/items", "html"), "items", MEDIA_HTML,
              translate("gis.ogc.link.items_html", language)),
    ]
    document: dict[str, Any] = {
        "id": info.id,
        "title": translate(info.title_key, language),
        "description": translate(info.description_key, language),
        "links": links,
        "itemType": "feature",
        "crs": [CRS84],
    }
    described = _extent(extent, info.temporal)
    if described is not None:
        document["extent"] = described
    return document


def collections(urls: Urls, entries: list[tuple[CollectionInfo, Extent]], fmt: Format,
                language: str) -> dict[str, Any]:
    return {
        "links": _self_and_alternate(urls, "/collections", fmt, MEDIA_JSON, language),
        "collections": [collection(urls, info, extent, fmt, language, in_list=True)
                        for info, extent in entries],
    }


def _interval_text(query: ItemsQuery) -> str | None:
    if query.interval is None:
        return None
    start, end = query.interval.start, query.interval.end
    if start is not None and start == end:
        return time_text(start)
    return f"{time_text(start) or '..'}/{time_text(end) or '..'}"


def query_parameters(query: ItemsQuery, offset: int) -> dict[str, Any]:
    """Return the query string values that repeat a selection at another offset."""
    params: dict[str, Any] = {}
    if query.bbox is not None:
        params["bbox"] = ",".join(repr(value) for value in query.bbox.as_list())
    params["datetime"] = _interval_text(query)
    params.update(query.filters)
    if query.limit != DEFAULT_LIMIT:
        params["limit"] = query.limit
    if offset:
        params["offset"] = offset
    return params


def feature_collection(urls: Urls, info: CollectionInfo, query: ItemsQuery, page: Page,
                       fmt: Format, language: str, now: datetime) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection with paging links and the OGC counts."""
    path = f"/collections/{info.id}/items"
    links = _self_and_alternate(urls, path, fmt, MEDIA_GEOJSON, language,
                                **query_parameters(query, query.offset))
    returned = len(page.features)
    if query.offset + returned < page.number_matched:
        params = query_parameters(query, query.offset + query.limit)
        links.append(_link(urls.href(path, fmt, **params), "next",
                           MEDIA_GEOJSON if fmt == "json" else MEDIA_HTML,
                           translate("gis.ogc.link.next", language)))
    if query.offset > 0:
        params = query_parameters(query, max(query.offset - query.limit, 0))
        links.append(_link(urls.href(path, fmt, **params), "prev",
                           MEDIA_GEOJSON if fmt == "json" else MEDIA_HTML,
                           translate("gis.ogc.link.prev", language)))
    links.append(_link(urls.href(f"/collections/{info.id}", "json"), "collection", MEDIA_JSON,
                       translate(info.title_key, language)))
    return {
        "type": "FeatureCollection",
        "features": page.features,
        "links": links,
        "numberMatched": page.number_matched,
        "numberReturned": returned,
        "timeStamp": time_text(now),
    }


def feature(urls: Urls, info: CollectionInfo, found: dict[str, Any], fmt: Format,
            language: str) -> dict[str, Any]:
    """Return one GeoJSON Feature with its links, including the platform's page when it has one."""
    path = f"/collections/{info.id}/items/{quote(str(found['id']), safe='')}"
    links = _self_and_alternate(urls, path, fmt, MEDIA_GEOJSON, language)
    links.append(_link(urls.href(f"/collections/{info.id}", "json"), "collection", MEDIA_JSON,
                       translate(info.title_key, language)))
    if info.page_path is not None:
        page = info.page_path.format(id=quote(str(found["id"]), safe=""))
        links.append(_link(urls.site_href(page), "related", MEDIA_HTML,
                           translate("gis.ogc.link.page", language)))
    return {**found, "links": links}
