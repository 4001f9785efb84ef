"""MQTT credentials for simulated devices and gateways, from the file the registry hands out.

Format (JSON)::

    {"devices": {"<device_id>": {"username": "...", "password": "..."}},
     "gateways": [{"client_id": "...", "username": "...", "password": "..."}]}

A device's username defaults to its id (what the broker's ACL pattern ``%u`` expects).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceLogin(_Strict):
    username: str | None = None
    password: str = Field(min_length=1)


class GatewayLogin(_Strict):
    client_id: str = Field(min_length=1, max_length=64)
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


class Credentials(_Strict):
    devices: dict[str, DeviceLogin] = {}
    gateways: list[GatewayLogin] = []

    def for_device(self, device_id: str) -> tuple[str, str] | None:
        login = self.devices.get(device_id)
        if login is None:
            return None
        return login.username or device_id, login.password


class CredentialsError(ValueError):
    pass


def load_credentials(path: Path | str) -> Credentials:
    try:
        return Credentials.model_validate_json(Path(path).read_bytes())
    except OSError as exc:
        raise CredentialsError(f"cannot read credentials {path}: {exc.strerror}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise CredentialsError(f"credentials {path} are not valid: {problems}") from None
