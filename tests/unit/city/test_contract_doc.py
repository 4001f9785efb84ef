from __future__ import annotations

from pathlib import Path

from city.contract_doc import EXAMPLES, render
from city.kinds import Kind

DOC = Path(__file__).resolve().parents[3] / "docs" / "device-contract.md"


def test_the_committed_contract_is_what_the_models_render() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/device-contract.md is stale: python -m city.contract_doc > docs/device-contract.md"
    )


def test_there_is_a_full_example_for_every_kind() -> None:
    assert {kind for kind, *_ in EXAMPLES} == set(Kind)
    assert {"river", "drain"} <= {getattr(e, "site", "") for *_, e in EXAMPLES}
