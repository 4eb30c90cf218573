import os
import socket

import pytest

from sampan.errors import Conflict
from sampan.network import hostports
from sampan.network.ports import PortMapping

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 0 100 0 0 10 0
   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 0 100 0 0 10 0
   2: 0100007F:9C40 0100007F:1F90 06 00000000:00000000 03:00000000 00000000     0        0 0 3
"""
TCP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0 0 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5252 1 0 0 100 0 0 10 0
   2: 00000000000000000000000001000000:1F93 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5353 1 0 0 100 0 0 10 0
"""


def test_parse_proc_net_v4_skips_time_wait():
    socks = hostports.parse_proc_net(TCP, "tcp")
    assert [(s.ip, s.port, s.inode) for s in socks] == [("127.0.0.1", 8080, 4242), ("", 80, 4343)]


def test_parse_proc_net_v6_wildcard_mapped_and_loopback():
    socks = hostports.parse_proc_net(TCP6, "tcp")
    assert [(s.ip, s.port) for s in socks] == [("", 8081), ("127.0.0.1", 8082), ("[::1]", 8083)]


@pytest.mark.parametrize("mapping_ip,sock_ip,clash", [
    ("", "127.0.0.1", True), ("127.0.0.1", "", True), ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "10.0.0.1", False), ("", "[::1]", True), ("127.0.0.1", "[::1]", False),
])
def test_address_overlap_rules(mapping_ip, sock_ip, clash):
    s = hostports.HostSocket("tcp", sock_ip, 80, 1)
    assert hostports._clashes(PortMapping(80, 80, mapping_ip), s) is clash


@pytest.mark.parametrize("proto,kind", [("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)])
def test_holder_of_a_real_socket_is_this_process(proto, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        if proto == "tcp":
            s.listen()
        port = s.getsockname()[1]
        holder = hostports.host_holder(PortMapping(80, port, "127.0.0.1", proto))
        assert holder == f"pid {os.getpid()} ({hostports.comm_of(os.getpid())})"
        with pytest.raises(Conflict) as e:
            hostports.reserve(PortMapping(80, port, "", proto))
        label = f"0.0.0.0:{port}" + ("/udp" if proto == "udp" else "")
        assert str(e.value).startswith(f"{label} is in use by pid {os.getpid()} (")


def test_reservation_blocks_other_binds_and_is_not_listening():
    s = hostports.reserve(PortMapping(80, 0, "127.0.0.1", "tcp"))
    try:
        port = s.getsockname()[1]
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
        with socket.socket() as client:
            assert client.connect_ex(("127.0.0.1", port)) != 0  # refused: never accepts traffic
    finally:
        s.close()


def test_reserve_on_foreign_address_is_a_clear_conflict():
    with pytest.raises(Conflict, match="not an address of this host"):
        hostports.reserve(PortMapping(80, 8080, "203.0.113.77", "tcp"))
