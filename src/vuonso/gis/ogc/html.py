"""View data for the HTML pages of the service: labels, table rows and links, in one language.

Templates only place what these functions return; every text comes from the catalogs through
the `t` function in each view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from vuonso.core.i18n import LANGUAGES, catalog, translate
from vuonso.gis.ogc.model import CollectionInfo, PropertyInfo


def _number(value: float, language: str, decimals: int = 4) -> str:
    text = f"{value:,.{decimals}f}"
    if decimals > 0:
        text = text.rstrip("0").rstrip(".")
    if language == "vi":
        # Vietnamese writes 1.234,5 where English writes 1,234.5.
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_value(value: Any, prop: PropertyInfo, language: str) -> str:
    """Return a property value as page text, with its unit when it has one."""
    if value is None:
        return "—"
    if prop.type == "number":
        text = _number(float(value), language)
    elif prop.type == "integer":
        # Years and counts read better without a thousands separator.
        text = str(int(value))
    else:
        text = str(value)
        if prop.value_labels is not None:
            key = f"{prop.value_labels}.{value}"
            text = translate(key, language) if key in catalog(language) else text
    return f"{text} {prop.unit}" if prop.unit else text


def page_base(path: str, pairs: Sequence[tuple[str, str]], language: str, title: str,
              json_href: str, home_href: str) -> dict[str, Any]:
    """Return what every page shows: title, language, links to switch language, to JSON and to
    the landing page."""
    others = [(name, value) for name, value in pairs if name != "lang"]
    switch = {
        code: path + "?" + urlencode([*others, ("lang", code)], quote_via=quote, safe=",:/.")
        for code in LANGUAGES
    }
    translator: Callable[..., str] = partial(_translate, language)
    return {"language": language, "t": translator, "title": title, "json_href": json_href,
            "home_href": home_href, "switch": switch}


def _translate(language: str, key: str, **params: Any) -> str:
    return translate(key, language, **params)


def link_rows(document: dict[str, Any]) -> list[dict[str, str]]:
    return [{"title": link.get("title", link["href"]), "href": link["href"], "rel": link["rel"],
             "type": link.get("type", "")} for link in document.get("links", [])]


def _href_of(document: dict[str, Any], rel: str, media_type: str) -> str | None:
    for link in document.get("links", []):
        if link["rel"] == rel and link.get("type") == media_type:
            return str(link["href"])
    return None


def extent_text(document: dict[str, Any], language: str) -> dict[str, str | None]:
    extent = document.get("extent") or {}
    spatial = extent.get("spatial", {}).get("bbox")
    temporal = extent.get("temporal", {}).get("interval")
    bbox = None
    if spatial:
        bbox = ", ".join(_number(value, language, 6) for value in spatial[0])
    interval = None
    if temporal:
        start, end = temporal[0]
        interval = f"{start or '..'} / {end or '..'}"
    return {"bbox": bbox, "interval": interval}


def collection_row(document: dict[str, Any], language: str) -> dict[str, Any]:
    return {
        "id": document["id"],
        "title": document.get("title", document["id"]),
        "description": document.get("description", ""),
        "href": _href_of(document, "self", "application/json") or "",
        "items_href": _href_of(document, "items", "text/html") or "",
        **extent_text(document, language),
    }


def feature_rows(info: CollectionInfo, features: list[dict[str, Any]], language: str,
                 item_href: Callable[[Any], str],
                 page_href: Callable[[Any], str | None]) -> dict[str, Any]:
    """Return the table of a page of features: column labels and one row per feature."""
    columns = [translate(prop.label_key, language) for prop in info.properties]
    rows = []
    for found in features:
        properties = found.get("properties") or {}
        rows.append({
            "id": found["id"],
            "href": item_href(found["id"]),
            "page_href": page_href(found["id"]),
            "values": [format_value(properties.get(prop.name), prop, language)
                       for prop in info.properties],
            "geometry_type": (found.get("geometry") or {}).get("type", "—"),
        })
    return {"columns": columns, "rows": rows}


def property_rows(info: CollectionInfo, found: dict[str, Any],
                  language: str) -> list[tuple[str, str]]:
    properties = found.get("properties") or {}
    return [(translate(prop.label_key, language),
             format_value(properties.get(prop.name), prop, language))
            for prop in info.properties]


def operation_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return each path of an OpenAPI document with its summary and parameter names."""
    components = document.get("components", {}).get("parameters", {})
    rows = []
    for path, operations in document.get("paths", {}).items():
        operation = operations.get("get", {})
        names = []
        for parameter in operation.get("parameters", []):
            if "$ref" in parameter:
                parameter = components.get(parameter["$ref"].rsplit("/", 1)[-1], {})
            names.append({"name": parameter.get("name", ""),
                          "description": parameter.get("description", "")})
        rows.append({"path": path, "summary": operation.get("summary", ""),
                     "parameters": names})
    return rows
