"""Map file attributes to plot fields: default name guesses, overrides and value parsing.

Attribute names are compared after folding: lower case, Vietnamese accents removed, and only
letters and digits kept, so "Mã lô", "MA_LO" and "ma lo" are all "malo".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vuonso.gis.errors import ImportFailed

PLOT_FIELDS = ("code", "crop", "planting_year", "clone", "tree_count", "tapping_system",
               "status", "team")

# Folded attribute names tried in order for each field. The shapefile names written by
# `vuonso gis export` (plant_year, tapping) are included so exports import back unchanged.
DEFAULT_GUESSES: dict[str, tuple[str, ...]] = {
    "code": ("code", "malo", "plotcode", "plotid", "solo", "lo", "plot", "name", "tenlo", "ten",
             "id"),
    "crop": ("crop", "caytrong", "loaicay", "cay"),
    "planting_year": ("plantingyear", "plantyear", "namtrong", "year"),
    "clone": ("clone", "variety", "giong", "dongvotinh"),
    "tree_count": ("treecount", "trees", "socay", "soluongcay"),
    "tapping_system": ("tappingsystem", "tapping", "chedocao", "chedokhaithac"),
    "status": ("status", "trangthai", "hientrang", "tinhtrang"),
    "team": ("team", "teamcode", "doi", "doisanxuat", "madoi"),
}

CROP_VALUES = {"rubber": "rubber", "caosu": "rubber", "coffee": "coffee", "caphe": "coffee",
               "caphevoi": "coffee", "robusta": "coffee"}
STATUS_VALUES = {
    "immature": "immature", "ktcb": "immature", "kienthietcoban": "immature",
    "tapping": "tapping", "kinhdoanh": "tapping", "khaithac": "tapping", "vuonkinhdoanh": "tapping",
    "replanting": "replanting", "taicanh": "replanting",
    "felled": "felled", "thanhly": "felled",
    "productive": "productive",
}


def fold(name: str) -> str:
    """Lower-case ASCII letters and digits of a name: 'Mã lô' -> 'malo', 'Lô' -> 'lo'."""
    text = name.replace("Đ", "D").replace("đ", "d")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


def parse_overrides(pairs: Iterable[str]) -> dict[str, str | None]:
    """'FIELD=ATTR' strings to a dict; 'FIELD=' maps the field to nothing (no guess)."""
    overrides: dict[str, str | None] = {}
    for pair in pairs:
        field_name, separator, attribute = pair.partition("=")
        field_name = field_name.strip()
        if not separator or field_name not in PLOT_FIELDS:
            raise ImportFailed(
                f"invalid mapping {pair!r}; use FIELD=ATTRIBUTE with FIELD one of "
                f"{', '.join(PLOT_FIELDS)}",
                key="gis.import.bad_mapping", value=pair, fields=", ".join(PLOT_FIELDS),
            )
        overrides[field_name] = attribute.strip() or None
    return overrides


def resolve_mapping(attribute_names: Iterable[str],
                    overrides: Mapping[str, str | None]) -> dict[str, str | None]:
    """Choose the file attribute for each plot field: override first, then the default guesses.

    Raises ImportFailed when an override names an attribute the file does not have.
    """
    names = list(dict.fromkeys(attribute_names))
    by_fold: dict[str, str] = {}
    for name in names:
        by_fold.setdefault(fold(name), name)
    mapping: dict[str, str | None] = {}
    for field_name in PLOT_FIELDS:
        if field_name in overrides:
            wanted = overrides[field_name]
            if wanted is None:
                mapping[field_name] = None
                continue
            found = wanted if wanted in names else by_fold.get(fold(wanted))
            if found is None:
                raise ImportFailed(
                    f"attribute {wanted!r} mapped to {field_name} is not in the file; "
                    f"its attributes are: {', '.join(names) or '(none)'}",
                    key="gis.import.attribute_missing", attribute=wanted, field=field_name,
                    available=", ".join(names) or "-",
                )
            mapping[field_name] = found
            continue
        taken = {value for value in mapping.values() if value}
        guess = next((by_fold[g] for g in DEFAULT_GUESSES[field_name]
                      if g in by_fold and by_fold[g] not in taken), None)
        mapping[field_name] = guess
    return mapping


@dataclass
class FieldValues:
    """Parsed plot fields of one feature, plus (field, value, expected) of rejected values."""

    values: dict[str, Any]
    invalid: list[tuple[str, Any, str]]


def parse_values(attributes: Mapping[str, Any], mapping: Mapping[str, str | None]) -> FieldValues:
    """Read each mapped field from a feature's attributes and check its value."""
    values: dict[str, Any] = {}
    invalid: list[tuple[str, Any, str]] = []
    for field_name, attribute in mapping.items():
        raw = attributes.get(attribute) if attribute else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        parsed, expected = _parse(field_name, raw)
        if expected:
            invalid.append((field_name, raw, expected))
        else:
            values[field_name] = parsed
    return FieldValues(values, invalid)


def _parse(field_name: str, raw: Any) -> tuple[Any, str | None]:
    """(value, None) when valid, else (None, description of what was expected)."""
    if field_name == "crop":
        crop = CROP_VALUES.get(fold(str(raw)))
        return (crop, None) if crop else (None, "rubber or coffee (cao su, cà phê)")
    if field_name == "status":
        status = STATUS_VALUES.get(fold(str(raw)))
        expected = "immature (KTCB), tapping (kinh doanh), replanting, felled or productive"
        return (status, None) if status else (None, expected)
    if field_name == "planting_year":
        year = _whole_number(raw)
        ok = year is not None and 1900 <= year <= 2100
        return (year, None) if ok else (None, "a year between 1900 and 2100")
    if field_name == "tree_count":
        count = _whole_number(raw)
        ok = count is not None and count >= 0
        return (count, None) if ok else (None, "a whole number of trees, 0 or more")
    return str(raw).strip(), None


def _whole_number(raw: Any) -> int | None:
    try:
        number = float(str(raw).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None
