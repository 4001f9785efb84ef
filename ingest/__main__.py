"""``python -m ingest`` / ``tianqu-ingest``: run one ingester with settings from the environment."""

from __future__ import annotations

import sys

from ingest.app import serve
from ingest.settings import IngestSettings
from servicekit.main import run_service


def main() -> int:
    return run_service("ingest", IngestSettings, serve)


if __name__ == "__main__":
    sys.exit(main())
