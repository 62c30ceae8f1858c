"""Value types of the OGC API service and the interface every feature collection implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import psycopg

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000

PropertyType = Literal["string", "integer", "number", "date-time"]


@dataclass(frozen=True, slots=True)
class BBox:
    """A CRS84 bounding box in degrees; min_lon <= max_lon because the antimeridian is not
    supported."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def as_list(self) -> list[float]:
        return [self.min_lon, self.min_lat, self.max_lon, self.max_lat]


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed time interval; None is an open end. An instant has start == end."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    """The validated selection of an items request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: BBox | None = None
    interval: Interval | None = None
    filters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PropertyInfo:
    """A feature property: its name, value type and the catalog key of its label.

    `value_labels` is a catalog key prefix: pages show the text of `prefix.value` when the catalog
    has one, such as gis.ogc.value.crop.rubber for the value rubber.
    """

    name: str
    type: PropertyType
    label_key: str
    unit: str | None = None
    value_labels: str | None = None


@dataclass(frozen=True, slots=True)
class FilterParam:
    """A query parameter; in a collection's `filters` it selects features whose property `name`
    equals the value. `values`, when given, lists every accepted value."""

    name: str
    type: Literal["string", "integer"] = "string"
    values: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """Description of one published collection.

    `temporal` is true when items accept `datetime`. `page_path` is the platform's HTML page of
    one feature with `{id}` in it (for example /plots/{id}), or None.
    """

    id: str
    title_key: str
    description_key: str
    geometry_type: str
    properties: tuple[PropertyInfo, ...]
    temporal: bool = False
    filters: tuple[FilterParam, ...] = ()
    id_type: Literal["string", "integer"] = "integer"
    page_path: str | None = None


@dataclass(frozen=True, slots=True)
class Extent:
    """Spatial extent (CRS84 degrees) and temporal extent of a collection; None where unknown."""

    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of features as GeoJSON Feature objects (without links) and the total matched."""

    features: list[dict[str, Any]]
    number_matched: int


@dataclass(frozen=True, slots=True)
class Workspace:
    """The workspace whose records a request reads: its id and its code (such as production)."""

    id: int
    code: str


class FeatureSource(Protocol):
    """A collection backed by the database. Implementations read only their own package's tables.

    Every method takes the workspace and must return only its records, so that practice
    workspaces stay out of production documents.
    """

    @property
    def info(self) -> CollectionInfo: ...

    def extent(self, conn: psycopg.Connection, workspace: Workspace) -> Extent: ...

    def page(self, conn: psycopg.Connection, workspace: Workspace, query: ItemsQuery) -> Page: ...

    def feature(self, conn: psycopg.Connection, workspace: Workspace,
                feature_id: str) -> dict[str, Any] | None: ...
