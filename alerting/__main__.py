"""``python -m alerting`` / ``tianqu-alerting``: run the rule evaluator, settings from the
environment (``TIANQU_ALERTING_*``)."""

from __future__ import annotations

import os
import sys

from alerting.app import serve
from alerting.settings import AlertingSettings
from servicekit.main import run_service


def _yield_to_ingestion(settings: AlertingSettings) -> None:
    if settings.nice:
        os.nice(settings.nice)  # evaluation yields the CPU to ingestion when both want it


def main() -> int:
    return run_service("alerting", AlertingSettings, serve, _yield_to_ingestion)


if __name__ == "__main__":
    sys.exit(main())
