"""The API's small district (``tests/integration/api/conftest.py``) for the console's stream."""

from __future__ import annotations

from tests.integration.api.conftest import dev_pki, fresh_world

__all__ = ["dev_pki", "fresh_world"]
