"""alerting/fastclient.py is a copy of ingest/fastclient.py (services do not import each
other); the ingester's tests cover its behaviour, this one that the copy has not drifted."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _code(path: Path) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tree.body = tree.body[1:]  # the module docstring says where the copy comes from
    return ast.dump(tree).replace("IngestClient", "FastClient")


def test_the_copy_matches_the_ingesters_code() -> None:
    assert _code(REPO / "alerting" / "fastclient.py") == _code(REPO / "ingest" / "fastclient.py"), (
        "ingest/fastclient.py and alerting/fastclient.py differ: carry the change over to the "
        "other copy (only the module docstring and the class name may differ)"
    )
