"""Message catalogs (Vietnamese first, English available).

Each package keeps catalogs in `messages/`: `vi.json` and `en.json`, or `TOPIC.vi.json` and
`TOPIC.en.json` per topic. Each is a flat object of key -> text with `{name}` placeholders. Keys are
namespaced by package (`ingest.`, `gis.`, `api.`, `error.`) and unique across all files.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
CATALOG_PACKAGES = ("vuonso.core", "vuonso.ingest", "vuonso.gis", "vuonso.api", "vuonso.simulators")


@cache
def catalog(language: str) -> dict[str, str]:
    """Merge the catalogs of every package for one language."""
    merged: dict[str, str] = {}
    for package in CATALOG_PACKAGES:
        folder = resources.files(package) / "messages"
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir(), key=lambda entry: entry.name):
            if path.name != f"{language}.json" and not path.name.endswith(f".{language}.json"):
                continue
            entries = json.loads(path.read_text(encoding="utf-8"))
            clashes = set(entries) & set(merged)
            if clashes:
                raise ValueError(f"message keys defined twice for {language}: {sorted(clashes)}")
            merged.update(entries)
    return merged


def pick_language(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Choose 'vi' or 'en' from an Accept-Language header or a ?lang= value."""
    if not accept_language:
        return default
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in LANGUAGES:
            return base
    return default


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """Return the text for `key` in `language`, falling back to Vietnamese, then to the key, with
    `params` filled into its placeholders."""
    text = catalog(language).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if text is None:
        log.warning("message key %s missing from the %s catalog", key, language)
        return key
    if not params:
        # Without parameters the text is returned as written, placeholders included, for callers
        # that format it elsewhere (the map's JavaScript fills them in the browser).
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        log.warning("message %s in %s does not fit parameters %s", key, language, sorted(params))
        return text
