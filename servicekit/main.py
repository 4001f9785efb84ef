"""A subscribing service's ``main``: settings from the environment, logging, run, exit code.

Exit codes: 0 stopped cleanly, 1 stopped because a task failed, 2 refused to start (invalid
settings, or a roster or rules file that does not validate — the message says which entry).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pydantic import ValidationError

from city.validation import DataFileError
from servicekit.settings import SubscriberSettings

S = TypeVar("S", bound=SubscriberSettings)


def run_service(
    name: str,
    settings_type: type[S],
    serve: Callable[[S], Coroutine[Any, Any, bool | None]],
    prepare: Callable[[S], None] | None = None,
) -> int:
    try:
        settings = settings_type()
    except ValidationError as exc:
        print(f"{name}: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise
    if prepare is not None:
        prepare(settings)
    try:
        outcome = asyncio.run(serve(settings))
    except DataFileError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    return 1 if outcome is False else 0
