import pytest
from hypothesis import given, strategies as st

from sampan.errors import InvalidArgument
from sampan.network.ports import PortMapping, expose_all, parse_publish, parse_publish_all


@pytest.mark.parametrize("spec,expected", [
    ("80", [PortMapping(80, 0, "", "tcp")]),
    ("8080:80", [PortMapping(80, 8080, "", "tcp")]),
    ("127.0.0.1:8080:80", [PortMapping(80, 8080, "127.0.0.1", "tcp")]),
    ("127.0.0.1::80", [PortMapping(80, 0, "127.0.0.1", "tcp")]),
    ("0.0.0.0:8080:80/udp", [PortMapping(80, 8080, "", "udp")]),
    ("53/UDP", [PortMapping(53, 0, "", "udp")]),
    ("8000-8002:80-82", [PortMapping(80, 8000), PortMapping(81, 8001), PortMapping(82, 8002)]),
    ("80-81", [PortMapping(80, 0), PortMapping(81, 0)]),
    ("0:80", [PortMapping(80, 0)]),
])
def test_parse_publish_forms(spec, expected):
    assert parse_publish(spec) == expected


@pytest.mark.parametrize("spec,words", [
    ("", "give"),
    ("abc", "not a port number"),
    ("8080:", "no container port"),
    ("70000:80", "out of range"),
    ("8080:0", "out of range"),
    ("80/sctp", "not tcp or udp"),
    ("1.2.3:80:80", "not an IPv4 address"),
    ("[::1]:80:80", "IPv6"),
    ("8000-8001:80-82", "differ in length"),
    ("90-80", "reversed"),
    ("a:b:c:d", "expected"),
])
def test_parse_publish_errors_quote_the_spec(spec, words):
    with pytest.raises(InvalidArgument) as e:
        parse_publish(spec)
    assert repr(spec) in str(e.value) or spec == ""
    assert words in str(e.value)
    assert "\n" not in str(e.value)


def test_same_host_port_twice_is_refused_but_other_proto_is_fine():
    with pytest.raises(InvalidArgument, match="published twice"):
        parse_publish_all(["8080:80", "127.0.0.1:8080:81"])
    assert len(parse_publish_all(["8080:80", "8080:80/udp", "127.0.0.1:8081:80", "127.0.0.2:8081:80"])) == 4


def test_expose_all_for_dash_P():
    assert expose_all(["80/tcp", "53/udp", "9000-9001", "132/sctp"]) == [
        PortMapping(80), PortMapping(53, proto="udp"), PortMapping(9000), PortMapping(9001)]


def test_describe_and_json_round_trip():
    m = PortMapping(80, 8080, "127.0.0.1", "tcp")
    assert m.describe() == "80/tcp -> 127.0.0.1:8080"
    assert PortMapping(80, 8080).host_addr() == "0.0.0.0:8080"
    assert PortMapping.from_json(m.to_json()) == m


@given(st.integers(1, 65535), st.integers(0, 65535), st.sampled_from(["tcp", "udp"]),
       st.sampled_from(["", "127.0.0.1", "10.1.2.3"]))
def test_parse_round_trips_any_valid_spec(cport, hport, proto, ip):
    spec = f"{ip + ':' if ip else ''}{hport}:{cport}/{proto}" if ip or hport else f"{cport}/{proto}"
    assert parse_publish(spec) == [PortMapping(cport, hport, ip, proto)]


@given(st.text(max_size=30))
def test_parser_never_raises_anything_but_invalid_argument(text):
    try:
        out = parse_publish(text)
    except InvalidArgument:
        return
    assert all(1 <= m.container_port <= 65535 and 0 <= m.host_port <= 65535 for m in out)
