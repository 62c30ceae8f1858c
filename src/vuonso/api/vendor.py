"""Browser libraries installed from npm (`make demo` runs `npm ci`) and served by the API.

The packages live in the node_modules folder of the repository root, next to package.json. They
are found at the first request rather than at import. A request for a missing package gets a
plain-text 404 response naming the command that installs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)


def find_node_package(folder: str, marker: str) -> Path | None:
    """Return `node_modules/<folder>` of the repository root when it contains `marker`, else None.

    The root is searched upwards from this file (an editable install) and from the working
    directory (an installed package run from the checkout).
    """
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for parent in (start, *start.parents):
            candidate = parent / "node_modules" / folder
            if (candidate / marker).is_file():
                return candidate
    return None


class VendorFiles:
    """ASGI app serving the folder that `find` returns, or `missing_text` with a 404 without it.

    `find` is called at each request until it returns a folder, so that a package installed while
    the server runs is picked up without a restart.
    """

    def __init__(self, name: str, find: Callable[[], Path | None], missing_text: str) -> None:
        self._name = name
        self._find = find
        self._missing_text = missing_text
        self._files: StaticFiles | None = None
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._files is None:
            folder = self._find()
            if folder is None:
                if not self._warned:
                    log.warning("%s is missing from node_modules above %s and %s. Run `make demo`",
                                self._name, Path(__file__).parent, Path.cwd())
                    self._warned = True
                missing = PlainTextResponse(self._missing_text, 404)
                await missing(scope, receive, send)
                return
            self._files = StaticFiles(directory=folder)
        await self._files(scope, receive, send)
