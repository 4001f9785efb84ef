"""``python -m alerting`` / ``tianqu-alerting``: run the rule evaluator, settings from the
environment (``TIANQU_ALERTING_*``)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from pydantic import ValidationError

from alerting.app import serve
from alerting.settings import AlertingSettings
from city.rules import RulesError
from city.topology import CityModelError


def main() -> int:
    try:
        settings = AlertingSettings()
    except ValidationError as exc:
        print(f"alerting: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per delivery is noise
    if settings.nice:
        os.nice(settings.nice)  # evaluation yields the CPU to ingestion when both want it
    try:
        healthy = asyncio.run(serve(settings))
    except (CityModelError, RulesError) as exc:
        print(f"alerting: {exc}", file=sys.stderr)
        return 2
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
