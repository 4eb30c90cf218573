"""What the network package hands back to the engine.

collections.namedtuple, not dataclasses nor typing.NamedTuple: immutable all the same,
and far cheaper to import and define, which counts on the import path of every `run`.
"""

from __future__ import annotations

from collections import namedtuple



class NetworkInfo(namedtuple(
        "NetworkInfo", "name id bridge subnet gateway internal labels created", defaults=(False, {}, 0.0))):
    __slots__ = ()  # fields (types for the reader):
    # name: str
    # id: str            # 64 hex, like Docker's
    # bridge: str        # host bridge interface; also the CNI network name
    # subnet: str        # "10.88.0.0/16"
    # gateway: str       # "10.88.0.1"
    # internal: bool = False
    # labels: dict[str, str] = {}  # never mutated: create() passes its own copy
    # created: float = 0.0

    def to_json(self) -> dict:
        """`network inspect` shape, close to Docker's."""
        return {"Name": self.name, "Id": self.id, "Driver": "bridge", "Internal": self.internal,
                "IPAM": {"Driver": "default", "Config": [{"Subnet": self.subnet, "Gateway": self.gateway}]},
                "Options": {"com.docker.network.bridge.name": self.bridge}, "Labels": dict(self.labels),
                "Created": self.created}


class Attachment(namedtuple(
        "Attachment", "cid network ifname ip prefix gateway mac host_veth ports aliases hostname", defaults=((), (), ""))):
    """One container's interface on one network."""

    __slots__ = ()  # fields (types for the reader):
    # cid: str
    # network: str
    # ifname: str        # inside the container, e.g. eth0
    # ip: str            # "10.88.0.5"
    # prefix: int        # 16
    # gateway: str       # "" on an internal network (no default route)
    # mac: str
    # host_veth: str     # host end, e.g. veth1a2b3c4d
    # ports: tuple[PortMapping, ...] = ()
    # aliases: tuple[str, ...] = ()
    # hostname: str = ""

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.prefix}"


class Peer(namedtuple("Peer", "cid ip names")):
    """A container reachable by name on a user network (for /etc/hosts)."""

    __slots__ = ()  # fields (types for the reader):
    # cid: str
    # ip: str
    # names: tuple[str, ...]
