"""The OpenAPI 3.0 definition of the service (conformance class oas30).

Each collection gets its own paths, so that each items operation lists exactly the parameters
it accepts: parameters not listed there are rejected with 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vuonso.core.i18n import translate
from vuonso.gis.ogc.documents import MEDIA_GEOJSON, MEDIA_HTML, MEDIA_JSON, MEDIA_OPENAPI, PREFIX, Urls
from vuonso.gis.ogc.model import DEFAULT_LIMIT, MAX_LIMIT, CollectionInfo, PropertyInfo
from vuonso.gis.ogc.params import FORMATS, MAX_OFFSET

_REF = "#/components/"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"{_REF}{kind}/{name}"}


def _parameters(language: str) -> dict[str, Any]:
    def query(name: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "style": "form",
                "explode": False, "description": translate(f"gis.ogc.api.param.{name}", language),
                "schema": schema, **extra}

    return {
        "f": query("f", {"type": "string", "enum": list(FORMATS)}),
        "lang": query("lang", {"type": "string", "enum": ["vi", "en"], "default": "vi"}),
        "bbox": query("bbox", {
            "type": "array", "items": {"type": "number"},
            "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
        }),
        "datetime": query("datetime", {"type": "string"}),
        "limit": query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                 "default": DEFAULT_LIMIT}),
        "offset": query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET,
                                   "default": 0}),
        "featureId": {"name": "featureId", "in": "path", "required": True,
                      "description": translate("gis.ogc.api.param.featureId", language),
                      "schema": {"type": "string"}},
    }


def _schemas() -> dict[str, Any]:
    link = {"type": "object", "required": ["href", "rel"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
        "hreflang": {"type": "string"}, "title": {"type": "string"},
        "length": {"type": "integer"}}}
    links = {"type": "array", "items": _ref("schemas", "link")}
    extent = {"type": "object", "properties": {
        "spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
            "crs": {"type": "string"}}},
        "temporal": {"type": "object", "properties": {
            "interval": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 2, "maxItems": 2,
                "items": {"type": "string", "format": "date-time", "nullable": True}}},
            "trs": {"type": "string"}}}}}
    collection = {"type": "object", "required": ["id", "links"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"},
        "description": {"type": "string"}, "links": links,
        "extent": _ref("schemas", "extent"), "itemType": {"type": "string"},
        "crs": {"type": "array", "items": {"type": "string"}}}}
    geometry = {"type": "object", "nullable": True, "required": ["type"], "properties": {
        "type": {"type": "string", "enum": [
            "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array"}}}
    feature = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "geometry": _ref("schemas", "geometryGeoJSON"),
        "properties": {"type": "object", "nullable": True},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "links": links}}
    feature_collection = {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": _ref("schemas", "featureGeoJSON")},
        "links": links, "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0}}}
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "detail": {"type": "string"},
            "problems": {"type": "array", "items": {"type": "object"}}}}}}
    return {
        "link": link,
        "landingPage": {"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
        "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "extent": extent,
        "collection": collection,
        "collections": {"type": "object", "required": ["links", "collections"], "properties": {
            "links": links, "collections": {"type": "array",
                                            "items": _ref("schemas", "collection")}}},
        "geometryGeoJSON": geometry,
        "featureGeoJSON": feature,
        "featureCollectionGeoJSON": feature_collection,
        "error": error,
    }


def _content(schema: str, json_type: str = MEDIA_JSON) -> dict[str, Any]:
    return {json_type: {"schema": _ref("schemas", schema)},
            MEDIA_HTML: {"schema": {"type": "string"}}}


def _responses(language: str) -> dict[str, Any]:
    def response(key: str, content: dict[str, Any]) -> dict[str, Any]:
        return {"description": translate(f"gis.ogc.api.response.{key}", language),
                "content": content}

    error = {MEDIA_JSON: {"schema": _ref("schemas", "error")}}
    return {
        "LandingPage": response("landing", _content("landingPage")),
        "Conformance": response("conformance", _content("confClasses")),
        "Collections": response("collections", _content("collections")),
        "Collection": response("collection", _content("collection")),
        "Features": response("features", _content("featureCollectionGeoJSON", MEDIA_GEOJSON)),
        "Feature": response("feature", _content("featureGeoJSON", MEDIA_GEOJSON)),
        "InvalidParameter": response("invalid", error),
        "NotFound": response("not_found", error),
    }


def _property_schema(prop: PropertyInfo) -> dict[str, Any]:
    if prop.type == "date-time":
        return {"type": "string", "format": "date-time", "nullable": True}
    return {"type": prop.type, "nullable": True}


def _operation(summary: str, parameters: list[dict[str, Any]], ok: str,
               *, not_found: bool = False) -> dict[str, Any]:
    responses = {"200": _ref("responses", ok), "400": _ref("responses", "InvalidParameter")}
    if not_found:
        responses["404"] = _ref("responses", "NotFound")
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


def _collection_paths(info: CollectionInfo, language: str) -> dict[str, Any]:
    title = translate(info.title_key, language)
    base = f"{PREFIX}/collections/{info.id}"
    common: list[dict[str, Any]] = [_ref("parameters", "f"), _ref("parameters", "lang")]
    items_parameters: list[dict[str, Any]] = [
        *common, _ref("parameters", "bbox"), _ref("parameters", "limit"),
        _ref("parameters", "offset")]
    if info.temporal:
        items_parameters.append(_ref("parameters", "datetime"))
    for param in info.filters:
        schema: dict[str, Any] = {"type": param.type}
        if param.values:
            schema["enum"] = list(param.values)
        items_parameters.append({
            "name": param.name, "in": "query", "required": False, "style": "form",
            "explode": False, "schema": schema,
            "description": translate("gis.ogc.api.param.filter", language, property=param.name),
        })
    items = _operation(translate("gis.ogc.api.items", language, collection=title),
                       items_parameters, "Features", not_found=True)
    item = _operation(translate("gis.ogc.api.item", language, collection=title),
                      [_ref("parameters", "featureId"), *common], "Feature", not_found=True)
    # The collection's own schemas replace the generic ones in its 200 responses.
    items["get"]["responses"]["200"] = {
        "description": translate("gis.ogc.api.response.features", language),
        "content": _content(f"{info.id}FeatureCollection", MEDIA_GEOJSON)}
    item["get"]["responses"]["200"] = {
        "description": translate("gis.ogc.api.response.feature", language),
        "content": _content(f"{info.id}Feature", MEDIA_GEOJSON)}
    return {
        base: _operation(translate("gis.ogc.api.collection", language, collection=title), common,
                         "Collection", not_found=True),
        f"{base}/items": items,
        f"{base}/items/{{featureId}}": item,
    }


def _collection_schemas(info: CollectionInfo) -> dict[str, Any]:
    """Return the Feature and FeatureCollection schemas of one collection, with its properties."""
    properties = {prop.name: _property_schema(prop) for prop in info.properties}
    return {
        f"{info.id}Feature": {"allOf": [_ref("schemas", "featureGeoJSON"), {
            "type": "object",
            "properties": {"id": {"type": info.id_type},
                           "properties": {"type": "object", "properties": properties}}}]},
        f"{info.id}FeatureCollection": {"allOf": [_ref("schemas", "featureCollectionGeoJSON"), {
            "type": "object",
            "properties": {"features": {"type": "array",
                                        "items": _ref("schemas", f"{info.id}Feature")}}}]},
    }


def openapi_document(urls: Urls, infos: Sequence[CollectionInfo], language: str,
                     version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.0 document describing every path of the service."""
    common = [_ref("parameters", "f"), _ref("parameters", "lang")]
    paths: dict[str, Any] = {
        PREFIX: _operation(translate("gis.ogc.api.landing", language), common, "LandingPage"),
        f"{PREFIX}/conformance": _operation(translate("gis.ogc.api.conformance", language),
                                            common, "Conformance"),
        f"{PREFIX}/api": {"get": {
            "summary": translate("gis.ogc.api.api", language),
            "parameters": common,
            "responses": {"200": {
                "description": translate("gis.ogc.api.response.api", language),
                "content": {MEDIA_OPENAPI: {"schema": {"type": "object"}},
                            MEDIA_HTML: {"schema": {"type": "string"}}}},
                "400": _ref("responses", "InvalidParameter")}}},
        f"{PREFIX}/collections": _operation(translate("gis.ogc.api.collections", language),
                                            common, "Collections"),
    }
    schemas = _schemas()
    for info in infos:
        paths.update(_collection_paths(info, language))
        schemas.update(_collection_schemas(info))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": translate("gis.ogc.landing.title", language),
            "description": translate("gis.ogc.landing.description", language),
            "version": version,
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": urls.base.rstrip("/")}],
        "paths": paths,
        "components": {
            "parameters": _parameters(language),
            "schemas": schemas,
            "responses": _responses(language),
        },
    }
