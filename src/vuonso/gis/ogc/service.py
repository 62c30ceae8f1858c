"""The OGC API - Features service: validates a request, reads its sources, returns a document.

Web adapters build a `RequestInfo` from the HTTP request and turn the `Reply` into a response:
`body` as JSON with `media_type`, or the `template` filled with `view` for HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import psycopg

from vuonso.core.i18n import translate
from vuonso.gis import plots
from vuonso.gis.ogc import documents, html
from vuonso.gis.ogc.documents import MEDIA_GEOJSON, MEDIA_JSON, MEDIA_OPENAPI, PREFIX, Urls
from vuonso.gis.ogc.errors import CollectionNotFound, FeatureNotFound
from vuonso.gis.ogc.model import FeatureSource, Workspace
from vuonso.gis.ogc.negotiation import choose_format
from vuonso.gis.ogc.openapi import openapi_document
from vuonso.gis.ogc.params import Format, Options, parse_items_query, parse_options


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The parts of an HTTP request that the service reads.

    `pairs` are the query parameters in order, repeats included. `base` is the scheme, host and
    port. `language` is the language chosen from Accept-Language, which `lang` overrides.
    """

    path: str
    pairs: Sequence[tuple[str, str]]
    base: str
    accept: str | None = None
    language: str = "vi"


@dataclass(frozen=True, slots=True)
class Reply:
    format: Format
    media_type: str
    body: dict[str, Any]
    template: str
    language: str
    view: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Context:
    """Format, language and link builder of one request, once its parameters are valid."""

    format: Format
    language: str
    urls: Urls


class OgcService:
    """Publishes the given feature sources of one workspace as OGC API collections."""

    def __init__(self, sources: Sequence[FeatureSource], *, version: str,
                 workspace: str = "production") -> None:
        self.sources = {source.info.id: source for source in sources}
        self.version = version
        self.workspace = workspace

    def _workspace(self, conn: psycopg.Connection) -> Workspace:
        return Workspace(plots.workspace_id(conn, self.workspace), self.workspace)

    def source(self, collection_id: str) -> FeatureSource:
        try:
            return self.sources[collection_id]
        except KeyError:
            raise CollectionNotFound(collection_id, list(self.sources)) from None

    def _reply(self, request: RequestInfo, context: _Context, body: dict[str, Any],
               template: str, media_type: str, title: str,
               view: dict[str, Any] | None = None) -> Reply:
        if context.format == "json":
            return Reply("json", media_type, body, template, context.language)
        others = {name: value for name, value in request.pairs if name not in ("f", "lang")}
        json_href = context.urls.site_href(request.path, "json", **others)
        page = html.page_base(request.path, request.pairs, context.language, title, json_href,
                              context.urls.href("", "html"))
        return Reply("html", "text/html", body, template, context.language,
                     {**page, "document": body, "links": html.link_rows(body), **(view or {})})

    @staticmethod
    def _context(request: RequestInfo, options: Options) -> _Context:
        return _Context(
            format=choose_format(options.format, request.accept),
            language=options.language or request.language,
            urls=Urls(request.base, options.language),
        )

    def _start(self, request: RequestInfo) -> _Context:
        return self._context(request, parse_options(request.pairs, request.language))

    def landing(self, request: RequestInfo) -> Reply:
        context = self._start(request)
        body = documents.landing_page(context.urls, context.format, context.language)
        return self._reply(request, context, body, "ogc_landing.html", MEDIA_JSON, body["title"],
                           {"service_url": context.urls.base.rstrip("/") + PREFIX})

    def conformance(self, request: RequestInfo) -> Reply:
        context = self._start(request)
        body = documents.conformance(context.urls, context.format, context.language)
        return self._reply(request, context, body, "ogc_conformance.html", MEDIA_JSON,
                           translate("gis.ogc.conformance.title", context.language))

    def api(self, request: RequestInfo) -> Reply:
        context = self._start(request)
        infos = [source.info for source in self.sources.values()]
        body = openapi_document(context.urls, infos, context.language, self.version)
        return self._reply(request, context, body, "ogc_api.html", MEDIA_OPENAPI,
                           translate("gis.ogc.api.title", context.language),
                           {"operations": html.operation_rows(body)})

    def collections(self, conn: psycopg.Connection, request: RequestInfo) -> Reply:
        context = self._start(request)
        workspace = self._workspace(conn)
        entries = [(source.info, source.extent(conn, workspace))
                   for source in self.sources.values()]
        body = documents.collections(context.urls, entries, context.format, context.language)
        rows = [html.collection_row(entry, context.language) for entry in body["collections"]]
        return self._reply(request, context, body, "ogc_collections.html", MEDIA_JSON,
                           translate("gis.ogc.collections.title", context.language),
                           {"collections": rows})

    def collection(self, conn: psycopg.Connection, request: RequestInfo,
                   collection_id: str) -> Reply:
        source = self.source(collection_id)
        context = self._start(request)
        extent = source.extent(conn, self._workspace(conn))
        body = documents.collection(context.urls, source.info, extent, context.format,
                                    context.language)
        return self._reply(request, context, body, "ogc_collection.html", MEDIA_JSON,
                           body["title"],
                           {"collection": html.collection_row(body, context.language)})

    def items(self, conn: psycopg.Connection, request: RequestInfo, collection_id: str) -> Reply:
        source = self.source(collection_id)
        info = source.info
        query, options = parse_items_query(request.pairs, info, request.language)
        context = self._context(request, options)
        urls, language = context.urls, context.language

        page = source.page(conn, self._workspace(conn), query)
        body = documents.feature_collection(urls, info, query, page, context.format, language,
                                            datetime.now(UTC))
        if context.format == "json":
            return Reply("json", MEDIA_GEOJSON, body, "ogc_items.html", language)

        table = html.feature_rows(
            info, page.features, language,
            item_href=lambda feature_id: urls.href(
                f"/collections/{info.id}/items/{quote(str(feature_id), safe='')}", "html"),
            page_href=lambda feature_id: _page_href(urls, info.page_path, feature_id),
        )
        paging = {link["rel"]: link["href"] for link in body["links"]
                  if link["rel"] in ("next", "prev")}
        return self._reply(request, context, body, "ogc_items.html", MEDIA_GEOJSON,
                           translate(info.title_key, language),
                           {**table, "paging": paging, "collection_id": info.id,
                            "collection_href": urls.href(f"/collections/{info.id}", "html"),
                            "map_href": urls.site_href("/map") if info.id == "plots" else None})

    def item(self, conn: psycopg.Connection, request: RequestInfo, collection_id: str,
             feature_id: str) -> Reply:
        source = self.source(collection_id)
        info = source.info
        context = self._start(request)
        found = source.feature(conn, self._workspace(conn), feature_id)
        if found is None:
            raise FeatureNotFound(collection_id, feature_id)
        body = documents.feature(context.urls, info, found, context.format, context.language)
        title = f"{translate(info.title_key, context.language)} {found['id']}"
        return self._reply(request, context, body, "ogc_item.html", MEDIA_GEOJSON, title, {
            "properties": html.property_rows(info, found, context.language),
            "geometry_type": (found.get("geometry") or {}).get("type", "—"),
            "page_href": _page_href(context.urls, info.page_path, found["id"]),
            "collection_href": context.urls.href(f"/collections/{info.id}/items", "html"),
        })


def _page_href(urls: Urls, page_path: str | None, feature_id: Any) -> str | None:
    """Return the platform's own page of a feature, such as /plots/12, or None."""
    if page_path is None:
        return None
    return urls.site_href(page_path.format(id=quote(str(feature_id), safe="")))


__all__ = ["PREFIX", "OgcService", "Reply", "RequestInfo"]
