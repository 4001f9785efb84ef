from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.core.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'api.db'}")
    db.init()
    yield db
    db.close()
