"""CRS names, choice and mismatches, and VN-2000 transformations checked against independent data."""

from __future__ import annotations

import pytest
from pyproj import CRS, Transformer

from vuonso.gis.crs import (
    PROVINCIAL_MERIDIANS,
    WGS84,
    choose_source_crs,
    parse_crs,
    same_crs,
    wgs84_transformer,
)
from vuonso.gis.errors import CrsError

# Decision 05/2007/QĐ-BTNMT, written out here as an explicit PROJ pipeline so the check does not
# go through the module's own +towgs84 handling (coordinate-frame convention, as EPSG:6960).
DECISION_05_2007 = ("+proj=helmert +x=-191.90441429 +y=-39.30318279 +z=-111.45032835"
                    " +rx=-0.00928836 +ry=0.01975479 +rz=-0.00427372 +s=0.252906278"
                    " +convention=coordinate_frame")


def explicit_pipeline(projection: str) -> Transformer:
    return Transformer.from_pipeline(
        f"+proj=pipeline +step +inv {projection} +step +proj=push +v_3"
        " +step +proj=cart +ellps=WGS84 "
        f"+step {DECISION_05_2007} +step +inv +proj=cart +ellps=WGS84 +step +proj=pop +v_3"
        " +step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )


# 1 mm of easting is about 1e-8 degrees; the module and the explicit pipeline must agree to that.
SAME_POINT_DEG = 1e-8


@pytest.mark.parametrize(("name", "projection"), [
    ("VN2000-TM3-GIALAI", "+proj=tmerc +lat_0=0 +lon_0=108.5 +k=0.9999 +x_0=500000 +ellps=WGS84"),
    ("VN2000-TM3-KONTUM", "+proj=tmerc +lat_0=0 +lon_0=107.5 +k=0.9999 +x_0=500000 +ellps=WGS84"),
    ("VN2000-TM3-BINHPHUOC",
     "+proj=tmerc +lat_0=0 +lon_0=106.25 +k=0.9999 +x_0=500000 +ellps=WGS84"),
    ("EPSG:3405", "+proj=utm +zone=48 +ellps=WGS84"),
    ("VN2000-UTM49N", "+proj=utm +zone=49 +ellps=WGS84"),
])
def test_vn2000_grid_matches_explicit_pipeline(name: str, projection: str) -> None:
    source = parse_crs(name)
    for easting, northing in ((446000.0, 1546000.0), (520000.0, 1300000.0)):
        lon, lat = wgs84_transformer(source.crs).transform(easting, northing)
        lon_ref, lat_ref = explicit_pipeline(projection).transform(easting, northing)
        assert lon == pytest.approx(lon_ref, abs=SAME_POINT_DEG)
        assert lat == pytest.approx(lat_ref, abs=SAME_POINT_DEG)


def test_gia_lai_grid_pleiku_check() -> None:
    # Hand estimate for Pleiku (13.98 N, 108.00 E) in the Gia Lai grid (meridian 108°30'):
    # easting 500 km - 0.5° x 111.32 km x cos(13.98°) ≈ 446 km, northing ≈ 1546 km.
    lon, lat = wgs84_transformer(parse_crs("VN2000-TM3-GIALAI").crs).transform(446000, 1546000)
    assert lat == pytest.approx(13.98, abs=0.01)
    assert lon == pytest.approx(108.0, abs=0.01)


def test_datum_shift_matches_published_point() -> None:
    # Point VP1 (Vân Phong bay) of Circular 20/2019/TT-BGTVT, given in both systems to 0.1":
    # VN-2000 12°33'39.7" N 109°25'53.6" E = WGS 84 12°33'36.0" N 109°26'00.0" E.
    lon, lat = wgs84_transformer(parse_crs("VN2000").crs).transform(
        109 + 25 / 60 + 53.6 / 3600, 12 + 33 / 60 + 39.7 / 3600)
    tolerance = 0.1 / 3600  # the published rounding, about 3 m
    assert lon == pytest.approx(109 + 26 / 60, abs=tolerance)
    assert lat == pytest.approx(12 + 33 / 60 + 36.0 / 3600, abs=tolerance)


@pytest.mark.parametrize("key", sorted(PROVINCIAL_MERIDIANS))
def test_provincial_grid_equals_epsg_tm3(key: str) -> None:
    meridian, _name, epsg = PROVINCIAL_MERIDIANS[key]
    assert CRS.from_epsg(epsg).to_json_dict()["conversion"]["parameters"][1]["value"] == meridian
    assert same_crs(parse_crs(f"VN2000-TM3-{key}").crs, CRS.from_epsg(epsg))


@pytest.mark.parametrize(("text", "label_fragment"), [
    ("VN2000-TM3-GIALAI", "108°30'"),
    ("vn2000-tm3-gia lai", "Gia Lai"),
    ("VN2000-TM3-Đắk Lắk", "Đắk Lắk"),
    ("VN2000-TM3-BINHPHUOC", "106°15'"),
    ("EPSG:3405", "UTM zone 48N"),
    ("epsg:4326", "WGS 84"),
    ("VN2000-UTM48N", "EPSG:3405"),
])
def test_parse_crs_names(text: str, label_fragment: str) -> None:
    assert label_fragment in parse_crs(text).label


# (format, declared by the file, --crs, expected problem code or None, message fragments)
CRS_CASES = [
    ("geojson", None, None, None, ()),
    ("geojson", None, "EPSG:3405", None, ()),
    ("shp", None, None, "crs_missing", (".prj", "--crs")),
    ("gpkg", None, None, "crs_missing", ("--crs",)),
    ("shp", CRS.from_epsg(3405), "EPSG:3406", "crs_mismatch", ("EPSG:3405", "EPSG:3406")),
    ("shp", CRS.from_epsg(9218), "VN2000-TM3-GIALAI", None, ()),
    ("shp", CRS.from_epsg(9218), "VN2000-TM3-KONTUM", "crs_mismatch",
     ("EPSG:9218", "VN2000-TM3-KONTUM")),
    ("kml", None, "EPSG:3405", "crs_mismatch", ("EPSG:4326", "EPSG:3405")),
    ("gpx", None, "EPSG:4326", None, ()),
    ("geojson", None, "EPSG:999999", "crs_unknown", ("EPSG:999999", "VN2000-TM3-GIALAI")),
    ("shp", None, "VN2000-TM3-NOWHERE", "crs_unknown", ("VN2000-TM3-NOWHERE",)),
]


@pytest.mark.parametrize(("file_format", "declared", "given", "problem", "fragments"), CRS_CASES)
def test_choose_source_crs(file_format: str, declared: CRS | None, given: str | None,
                           problem: str | None, fragments: tuple[str, ...]) -> None:
    if problem is None:
        chosen = choose_source_crs(file_format, declared, given)
        expected = "default"
        if declared is not None:
            expected = "file"
        if given:
            expected = "option"
        assert chosen.origin == expected
        return
    with pytest.raises(CrsError) as caught:
        choose_source_crs(file_format, declared, given)
    assert caught.value.problems[0]["problem"] == problem
    for fragment in fragments:
        assert fragment in caught.value.message


def test_geojson_default_is_wgs84() -> None:
    chosen = choose_source_crs("geojson", None, None)
    assert chosen.crs.equals(WGS84)
    assert chosen.bounds is None


def test_same_crs_tells_zones_apart() -> None:
    assert same_crs(CRS.from_epsg(3405), parse_crs("VN2000-UTM48N").crs)
    assert not same_crs(CRS.from_epsg(3405), CRS.from_epsg(3406))
    assert not same_crs(CRS.from_epsg(9218), CRS.from_epsg(9217))
    assert same_crs(CRS.from_user_input("OGC:CRS84"), WGS84)
