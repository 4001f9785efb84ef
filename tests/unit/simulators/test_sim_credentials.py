from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators.credentials import CredentialsError, load_credentials


def test_load_device_and_gateway_logins(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text(
        json.dumps(
            {
                "devices": {
                    "sl-tianqu-00000": {"password": "s3cret"},
                    "mh-hubin-00001": {"username": "mh-hubin-00001", "password": "p"},
                },
                "gateways": [{"client_id": "gw-1", "username": "gw", "password": "x"}],
            }
        )
    )
    creds = load_credentials(path)
    assert creds.for_device("sl-tianqu-00000") == ("sl-tianqu-00000", "s3cret")
    assert creds.for_device("mh-hubin-00001") == ("mh-hubin-00001", "p")
    assert creds.for_device("pk-x-00001") is None
    assert creds.gateways[0].client_id == "gw-1"


@pytest.mark.parametrize(
    "content",
    ['{"devices": {"a": {}}}', '{"gateways": [{"client_id": "g"}]}', "not json", '{"extra": 1}'],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, content: str) -> None:
    path = tmp_path / "creds.json"
    path.write_text(content)
    with pytest.raises(CredentialsError, match="not valid"):
        load_credentials(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read"):
        load_credentials(tmp_path / "nope.json")
