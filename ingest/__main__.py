"""``python -m ingest`` / ``tianqu-ingest``: run one ingester with settings from the environment."""

from __future__ import annotations

import asyncio
import logging
import sys

from pydantic import ValidationError

from city.topology import CityModelError
from ingest.app import serve
from ingest.settings import IngestSettings


def main() -> int:
    try:
        settings = IngestSettings()
    except ValidationError as exc:
        print(f"ingest: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per write is noise
    try:
        asyncio.run(serve(settings))
    except CityModelError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
