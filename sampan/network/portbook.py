"""Host ports of published mappings: who holds them, free ones chosen, reservations.

Containers of this root are found in the network tables (so a conflict names the
container); anything else holding a port is found through /proc (hostports).
"""

from __future__ import annotations


from sampan.errors import Conflict
from sampan.network import hostports
from sampan.network.netdb import ACTIVE, TEARING, NetDB
from sampan.network.ports import PortMapping, check_no_self_overlap, overlap_ip
from sampan.network.teardown import Teardown

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    import socket
    from typing import Callable, Iterable


class PortBook:
    def __init__(self, store: NetDB, teardown: Teardown):
        self.store = store
        self.teardown = teardown
        # sockets bound while choosing free ports, handed over by reserve_ports
        self._picked: dict[tuple[str, int, str], socket.socket] = {}

    def check_ports(self, mappings: Iterable[PortMapping],
                    owner_lookup: Callable[[str], str | None] | None = None) -> list[PortMapping]:
        """Resolve host_port 0 to free ports; raise Conflict naming the holder of a taken one."""
        mappings = list(mappings)
        check_no_self_overlap(mappings)
        lookup = owner_lookup or (lambda cid: None)
        out = []
        for m in mappings:
            if m.host_port == 0:
                out.append(self._pick_free(m))
                continue
            holder = self._container_holder(m)
            if holder is not None:
                raise Conflict(f"{m.label()} is published by container {lookup(holder) or holder[:12]}; "
                               "choose another host port")
            host = hostports.host_holder(m)
            if host is not None:
                raise Conflict(f"{m.label()} is in use by {host}; choose another host port")
            out.append(m)
        return out

    def _container_holder(self, m: PortMapping) -> str | None:
        for _ in range(2):
            rows = [r for r in self.store.port_holders(m.host_port, m.proto) if overlap_ip(r[1], m.host_ip)]
            tearing = [r[0] for r in rows if r[2] == TEARING]
            active = [r[0] for r in rows if r[2] == ACTIVE]
            if active:
                return active[0]
            if not tearing:
                return None
            for cid in tearing:  # the port frees as soon as that background DEL ends
                self.teardown.wait(cid)
        return tearing[0]

    def _pick_free(self, m: PortMapping) -> PortMapping:
        for _ in range(50):
            s = hostports.bind_reservation(m)
            port = s.getsockname()[1]
            if self._container_holder(m._replace(host_port=port)) is None:
                self._picked[(m.host_ip, port, m.proto)] = s
                return m._replace(host_port=port)
            s.close()
        raise Conflict(f"no free host port found for {m.container_port}/{m.proto}")

    def reserve_ports(self, mappings: Iterable[PortMapping], inheritable: bool = False) -> list[socket.socket]:
        """Bound, non-listening sockets that keep the host ports ours; the caller (the
        container's monitor) keeps them open for the container's life."""
        socks: list[socket.socket] = []
        try:
            for m in mappings:
                s = self._picked.pop((m.host_ip, m.host_port, m.proto), None) or hostports.reserve(m)
                s.set_inheritable(inheritable)
                socks.append(s)
        except BaseException:
            for s in socks:
                s.close()
            raise
        return socks

    def release_picked(self) -> None:
        """Close sockets that check_ports bound for chosen ports but nobody reserved."""
        for s in self._picked.values():
            s.close()
        self._picked.clear()

