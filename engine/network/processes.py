"""Public IP address processes, declared as data."""

from __future__ import annotations

from engine.lifecycle import Process, Step
from engine.network import steps
from schema_bridge.public_ips import IpStates

IPS = IpStates()

ASSOCIATE = Process(
    name="ip.associate",
    command="associateIpAddress",
    event_type="NET.IPASSIGN",
    resource_type="IpAddress",
    resources=IPS,
    start_states=("Allocating",),
    transitioning="Allocating",
    done="Allocated",
    error="Free",
    steps=(
        Step("hold the claim", steps.keep_claim, steps.give_claim_back),
        Step("associate with network", steps.associate_network),
    ),
)

DISASSOCIATE = Process(
    name="ip.disassociate",
    command="disassociateIpAddress",
    event_type="NET.IPRELEASE",
    resource_type="IpAddress",
    resources=IPS,
    start_states=("Allocated",),
    transitioning="Releasing",
    done="Free",
    error="Allocated",
    steps=(Step("release", steps.release_address),),
)

PROCESSES = {p.command: p for p in (ASSOCIATE, DISASSOCIATE)}
