import ipaddress

import pytest

from sampan.errors import Conflict, InvalidArgument
from sampan.network import subnets

ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
br0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


def test_parse_proc_route_skips_default():
    assert subnets.parse_proc_route(ROUTE) == [ipaddress.IPv4Network("192.0.2.0/24"),
                                               ipaddress.IPv4Network("10.88.0.0/16")]


def test_pick_skips_routed_and_overlapping():
    taken = subnets.parse_proc_route(ROUTE) + [ipaddress.IPv4Network("10.89.3.0/24")]
    assert str(subnets.pick_subnet(taken)) == "10.90.0.0/16"


def test_pick_falls_back_to_172_pool_then_fails():
    assert str(subnets.pick_subnet([ipaddress.IPv4Network("10.0.0.0/8")])) == "172.17.0.0/16"
    with pytest.raises(Conflict, match="no free subnet"):
        subnets.pick_subnet([ipaddress.IPv4Network("0.0.0.0/1"), ipaddress.IPv4Network("128.0.0.0/1")])


def test_subnet_and_gateway_validation():
    net = subnets.parse_subnet("10.99.0.7/24")
    assert str(net) == "10.99.0.0/24"
    assert subnets.check_gateway(net, None) == "10.99.0.1"
    assert subnets.check_gateway(net, "10.99.0.254") == "10.99.0.254"
    for bad in ("10.99.1.1", "10.99.0.0", "10.99.0.255"):
        with pytest.raises(InvalidArgument, match="not a host address"):
            subnets.check_gateway(net, bad)
    with pytest.raises(InvalidArgument, match="invalid subnet"):
        subnets.parse_subnet("10.99.0.0/33")
    with pytest.raises(InvalidArgument, match="too small"):
        subnets.parse_subnet("10.99.0.0/31")
