"""--link's variables as moby's links.ToEnv writes them, --expose's keys as docker/cli
expands them, and the hostile inputs of both (pure functions: no container needed)."""

import pytest

from sampan.engine import links
from sampan.engine.net_flags import check_domainname, parse_expose
from sampan.errors import InvalidArgument


def test_link_env_ports_ranges_and_env():
    env = links._link_env("/web/db-1", "10.0.0.2", links._sorted_ports(
        ["6379/tcp", "7001/udp", "7000/udp", "80/tcp", "81/tcp"]), ["A=1", "PATH=/bin", "HOME=/root", "B=x=y"])
    assert env == [
        "DB_1_PORT=tcp://10.0.0.2:80",
        "DB_1_PORT_80_TCP=tcp://10.0.0.2:80", "DB_1_PORT_80_TCP_ADDR=10.0.0.2",
        "DB_1_PORT_80_TCP_PORT=80", "DB_1_PORT_80_TCP_PROTO=tcp",
        "DB_1_PORT_81_TCP=tcp://10.0.0.2:81", "DB_1_PORT_81_TCP_ADDR=10.0.0.2",
        "DB_1_PORT_81_TCP_PORT=81", "DB_1_PORT_81_TCP_PROTO=tcp",
        "DB_1_PORT_6379_TCP=tcp://10.0.0.2:6379", "DB_1_PORT_6379_TCP_ADDR=10.0.0.2",
        "DB_1_PORT_6379_TCP_PORT=6379", "DB_1_PORT_6379_TCP_PROTO=tcp",
        # moby writes a range when the next port breaks it, after that port's variables
        "DB_1_PORT_80_TCP_START=tcp://10.0.0.2:80", "DB_1_PORT_80_TCP_PORT_START=80",
        "DB_1_PORT_80_TCP_END=tcp://10.0.0.2:81", "DB_1_PORT_80_TCP_PORT_END=81",
        "DB_1_PORT_7000_UDP=udp://10.0.0.2:7000", "DB_1_PORT_7000_UDP_ADDR=10.0.0.2",
        "DB_1_PORT_7000_UDP_PORT=7000", "DB_1_PORT_7000_UDP_PROTO=udp",
        "DB_1_PORT_7001_UDP=udp://10.0.0.2:7001", "DB_1_PORT_7001_UDP_ADDR=10.0.0.2",
        "DB_1_PORT_7001_UDP_PORT=7001", "DB_1_PORT_7001_UDP_PROTO=udp",
        "DB_1_PORT_7000_UDP_START=udp://10.0.0.2:7000", "DB_1_PORT_7000_UDP_PORT_START=7000",
        "DB_1_PORT_7000_UDP_END=udp://10.0.0.2:7001", "DB_1_PORT_7000_UDP_PORT_END=7001",
        "DB_1_NAME=/web/db-1", "DB_1_ENV_A=1", "DB_1_ENV_B=x=y"]


def test_link_env_without_ports():
    assert links._link_env("/web/db", "10.0.0.2", [], []) == ["DB_NAME=/web/db"]


@pytest.mark.parametrize("spec,want", [("db", ("db", "db")), ("db:cache", ("db", "cache")),
                                       ("/db:/web/cache", ("db", "cache"))])
def test_link_specs(spec, want):
    assert links.parse(spec) == want


@pytest.mark.parametrize("spec", ["", "a:b:c", "db:", ":x", "db:a\nb", "db:a b", "db:.x", "db:x/y", "db:\x00",
                                  "db:ä", "db:a\rb"])
def test_hostile_link_specs_refused(spec):
    with pytest.raises(InvalidArgument):
        links.parse(spec)


def test_hosts_lines_skip_unsafe_hostnames():
    class Child:
        name, config = "db", {"hostname": "bad\nhost 1.2.3.4 evil"}
    line = links.hosts_lines([links.Target("cache", Child(), "10.0.0.2", legacy=True)])
    assert line == "10.0.0.2\tcache db\n"


def test_expose_keys():
    assert parse_expose(["80", "53/UDP", "8000-8002/tcp", "80/tcp", "9/sctp"]) == [
        "80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp", "9/sctp"]


@pytest.mark.parametrize("spec", ["", "80:80", "x", "1-", "-1", "2-1", "0", "65536", "80/icmp", "8\n0", "１",
                                  "99999999999999999999", "80/tcp/udp"])
def test_bad_expose_refused(spec):
    with pytest.raises(InvalidArgument):
        parse_expose([spec])


def test_domainname():
    assert check_domainname("corp.example") == "corp.example" and check_domainname(None) == ""
    for bad in ("a\nb", "a b", "x" * 65, "a/b", "\x00"):
        with pytest.raises(InvalidArgument):
            check_domainname(bad)
