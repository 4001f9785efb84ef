"""The publisher without a broker: it must keep trying, hold what it cannot send, and stop."""

from __future__ import annotations

import asyncio

from city.kinds import Kind
from devstack.ports import free_port
from simulators.engine import Outgoing, birth_payload
from simulators.fleet import Fleet
from simulators.publisher import BrokerSettings, DevicePublisher, GatewayPublisher


def test_device_mode_survives_a_missing_broker(fleet_1000: Fleet) -> None:
    placements = fleet_1000.of_kind(Kind.PARKING)[:5]

    async def scenario() -> DevicePublisher:
        broker = BrokerSettings.create("127.0.0.1", free_port())  # nothing listens there
        publisher = DevicePublisher(placements, broker, lambda p: birth_payload(p, 1.8e9))
        await publisher.start()
        for p in placements:
            publisher.send(Outgoing(p.device_id, "tianqu/v1/x/y/parking/z/telemetry", b"{}", 0.0))
        await asyncio.sleep(1.5)
        assert publisher.pending() == len(placements)  # held for when the broker comes
        assert all(link.wanted and not link.connected for link in publisher.links)
        await publisher.stop(1.0)
        return publisher

    publisher = asyncio.run(scenario())
    # Asked once for all five; nobody blocked in a connect call to a broker that is not there.
    assert publisher.stats.failures.get("broker unreachable", 0) >= len(placements)
    assert publisher.stats.sent == 0 and publisher.stats.connected == 0
    assert not any(link.wanted for link in publisher.links)


def test_gateway_mode_spreads_devices_over_its_connections(fleet_1000: Fleet) -> None:
    async def scenario() -> GatewayPublisher:
        broker = BrokerSettings.create("127.0.0.1", free_port())
        publisher = GatewayPublisher(
            fleet_1000.placements, broker, lambda p: birth_payload(p, 1.8e9), gateways=3
        )
        await publisher.start()
        await publisher.stop(0.2)
        return publisher

    publisher = asyncio.run(scenario())
    assert [link.client_id for link in publisher.links] == [f"tqsim-gw-{i:02d}" for i in range(3)]
    # Unsent offline statuses are held per gateway: every device is accounted for.
    assert publisher.pending() == 1000
