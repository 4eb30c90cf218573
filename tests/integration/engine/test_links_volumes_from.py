"""Issue 11: --volumes-from, --expose, --domainname and --link, each checked from inside real
containers and in inspect as Docker shows them; and their hostile inputs."""

import json

import pytest

NONE = ["--network", "none"]


def inspect(sampan, name) -> dict:
    return json.loads(sampan.ok("inspect", name))[0]


def test_volumes_from_shares_volumes_and_binds(sampan, tmp_path):
    (tmp_path / "hostfile").write_text("from-host")
    sampan.ok("create", "--name", "donor", *NONE, "-v", "data:/data", "-v", "/anon",
              "-v", f"{tmp_path}:/bound:ro", "busybox", "true")
    out = sampan.ok("run", "--name", "user", *NONE, "--volumes-from", "donor", "busybox", "sh", "-c",
                    "echo shared > /data/f; echo anon > /anon/g; cat /bound/hostfile; echo; "
                    "touch /bound/x 2>/dev/null && echo rw || echo ro")
    assert out.split() == ["from-host", "ro"]
    # the donor sees what the user wrote: the same volumes, at the same paths
    out = sampan.ok("run", "--rm", *NONE, "--volumes-from", "donor:ro", "busybox", "sh", "-c",
                    "cat /data/f /anon/g; touch /data/y 2>/dev/null && echo rw || echo ro")
    assert out.split() == ["shared", "anon", "ro"]
    info = inspect(sampan, "user")
    assert info["HostConfig"]["VolumesFrom"] == ["donor"]
    assert info["HostConfig"]["Binds"] is None  # the shared mounts are not the user's -v
    by_dest = {m["Destination"]: m for m in info["Mounts"]}
    assert set(by_dest) == {"/data", "/anon", "/bound"}
    assert by_dest["/data"]["Name"] == "data" and by_dest["/data"]["RW"] is True
    assert by_dest["/bound"]["Type"] == "bind" and by_dest["/bound"]["RW"] is False
    assert by_dest["/anon"]["Name"] == {m["Destination"]: m for m in inspect(sampan, "donor")["Mounts"]}[
        "/anon"]["Name"]


def test_own_mount_wins_over_volumes_from(sampan):
    sampan.ok("create", "--name", "donor", *NONE, "-v", "one:/data", "busybox", "true")
    sampan.ok("run", "--rm", *NONE, "-v", "one:/data", "busybox", "sh", "-c", "echo one > /data/f")
    out = sampan.ok("run", "--rm", *NONE, "--volumes-from", "donor", "-v", "two:/data", "busybox",
                    "sh", "-c", "cat /data/f 2>/dev/null || echo empty")
    assert out.strip() == "empty"


def test_removed_donor_leaves_its_volumes_in_use(sampan):
    sampan.ok("create", "--name", "donor", *NONE, "-v", "keep:/data", "-v", "/anon", "busybox", "true")
    anon = {m["Destination"]: m["Name"] for m in inspect(sampan, "donor")["Mounts"]}["/anon"]
    sampan.ok("create", "--name", "user", *NONE, "--volumes-from", "donor", "busybox", "true")
    sampan.ok("rm", "-v", "donor")  # its anonymous volume too, were it not used by "user"
    for name in ("keep", anon):
        r = sampan("volume", "rm", name)
        assert r.rc != 0 and "in use" in r.err, r.err
    sampan.ok("rm", "-v", "user")  # the last user: the anonymous volume goes with it
    assert sampan.ok("volume", "ls", "-q").split() == ["keep"]
    sampan.ok("volume", "rm", "keep")


def test_volumes_from_unknown_container_and_bad_modes(sampan):
    r = sampan("run", "--rm", *NONE, "--volumes-from", "nope", "busybox", "true")
    assert r.rc == 125 and "No such container: nope" in r.err and r.err.count("\n") == 1, r.err
    sampan.ok("create", "--name", "donor", *NONE, "-v", "/x", "busybox", "true")
    for spec, words in (("donor:z", "invalid mode: z"), ("donor:rshared", "invalid mode: rshared"),
                        ("donor:nocopy", "invalid mode: nocopy"), ("", "cannot be an empty string"),
                        (":ro", "CONTAINER[:ro|rw]")):
        r = sampan("run", "--rm", *NONE, "--volumes-from", spec, "busybox", "true")
        assert r.rc == 125 and words in r.err and r.err.count("\n") == 1, (spec, r.err)
    # a hostile reference is a lookup, never a pattern
    r = sampan("run", "--rm", *NONE, "--volumes-from", "%", "busybox", "true")
    assert r.rc == 125 and "No such container" in r.err


def test_expose_in_inspect_ps_and_publish_all(sampan):
    sampan.ok("run", "-d", "--name", "ex", "--expose", "7000", "--expose", "7100-7102/udp", "-p", "7200",
              "busybox", "sleep", "60")
    info = inspect(sampan, "ex")
    assert set(info["Config"]["ExposedPorts"]) == {"7000/tcp", "7100/udp", "7101/udp", "7102/udp", "7200/tcp"}
    ports = info["NetworkSettings"]["Ports"]
    assert ports["7000/tcp"] is None and ports["7101/udp"] is None and ports["7200/tcp"][0]["HostPort"]
    row = sampan.ok("ps", "--filter", "name=ex", "--format", "{{.Ports}}").strip()
    assert "7000/tcp" in row and "7100-7102/udp" in row and "->7200/tcp" in row, row
    assert sampan.ok("ps", "-q", "--filter", "expose=7101/udp").strip() == info["Id"][:12]
    sampan.ok("rm", "-f", "ex")
    sampan.ok("run", "-d", "--name", "pa", "--expose", "7300", "-P", "busybox", "sleep", "60")
    bound = inspect(sampan, "pa")["NetworkSettings"]["Ports"]["7300/tcp"]
    assert bound and int(bound[0]["HostPort"]) > 0
    assert sampan.ok("port", "pa").startswith("7300/tcp -> 0.0.0.0:")
    sampan.ok("rm", "-f", "pa")


def test_bad_expose_refused(sampan):
    for spec, words in (("80:80", "invalid port format for --expose"), ("x", "invalid range format"),
                        ("90-80", "invalid range format"), ("0", "invalid range format"),
                        ("70000", "invalid range format"), ("80/icmp", "invalid proto"),
                        ("8\n0", "invalid range format"), ("٣", "invalid range format")):
        r = sampan("create", *NONE, "--expose", spec, "busybox", "true")
        assert r.rc == 125 and words in r.err and r.err.count("\n") == 1, (spec, r.err)


def test_domainname_seen_inside(sampan):
    out = sampan.ok("run", "--rm", "--hostname", "web", "--domainname", "example.test", "busybox", "sh", "-c",
                    "cat /proc/sys/kernel/domainname; hostname; hostname -d; grep -w web /etc/hosts")
    lines = out.splitlines()
    assert lines[:3] == ["example.test", "web", "example.test"], out
    assert lines[3].split()[1:3] == ["web.example.test", "web"]
    sampan.ok("create", "--name", "dn", *NONE, "--domainname", "corp.test", "busybox", "true")
    assert inspect(sampan, "dn")["Config"]["Domainname"] == "corp.test"
    # without the flag: the kernel's "(none)", as in Docker
    assert sampan.ok("run", "--rm", *NONE, "busybox", "cat", "/proc/sys/kernel/domainname").strip() == "(none)"


def test_hostile_domainname_refused(sampan):
    for bad in ("a\nb", "a b", "x" * 65, "a/b", "a#b", "a\tb"):
        r = sampan("create", *NONE, "--domainname", bad, "busybox", "true")
        assert r.rc == 125 and "invalid domain name" in r.err and r.err.count("\n") == 1, (bad, r.err)


def test_link_on_the_default_bridge(sampan):
    sampan.ok("run", "-d", "--name", "db", "--hostname", "dbhost", "--expose", "5432", "--expose", "7000-7001/udp",
              "-e", "PASSWORD=s3cr=t", "busybox", "sleep", "60")
    db_ip = inspect(sampan, "db")["NetworkSettings"]["IPAddress"]
    out = sampan.ok("run", "--name", "web", "--link", "db:store", "--link", "db", "busybox", "sh", "-c",
                    "grep -w store /etc/hosts; env | grep -E '^(STORE|DB)_' | sort; ping -c1 -W2 store >/dev/null "
                    "&& echo reached; [ -e /tmp/once ] && exec sleep 60; touch /tmp/once")
    lines = out.splitlines()
    assert lines[0].split() == [db_ip, "store", "dbhost", "db"]
    env = dict(line.split("=", 1) for line in lines[1:-1])
    assert env["STORE_PORT"] == f"tcp://{db_ip}:5432"
    assert env["STORE_PORT_5432_TCP"] == f"tcp://{db_ip}:5432" and env["STORE_PORT_5432_TCP_ADDR"] == db_ip
    assert env["STORE_PORT_5432_TCP_PORT"] == "5432" and env["STORE_PORT_5432_TCP_PROTO"] == "tcp"
    assert env["STORE_PORT_7000_UDP_START"] == f"udp://{db_ip}:7000" and env["STORE_PORT_7000_UDP_PORT_END"] == "7001"
    assert env["STORE_NAME"] == "/web/store" and env["DB_NAME"] == "/web/db"
    assert env["STORE_ENV_PASSWORD"] == "s3cr=t" and "STORE_ENV_PATH" not in env
    assert lines[-1] == "reached"
    assert inspect(sampan, "web")["HostConfig"]["Links"] == ["/db:/web/store", "/db:/web/db"]
    # exec sees them too, as in Docker
    sampan.ok("start", "web")
    assert sampan.ok("exec", "web", "sh", "-c", "echo $STORE_PORT").strip() == f"tcp://{db_ip}:5432"
    sampan.ok("stop", "-t", "0", "web")
    # the container's own variables win over a link's
    out = sampan.ok("run", "--rm", "--link", "db:store", "-e", "STORE_NAME=mine", "busybox", "sh", "-c",
                    "echo $STORE_NAME")
    assert out.strip() == "mine"
    # a stopped linked container: Docker's start error
    sampan.ok("stop", "-t", "0", "db")
    r = sampan("start", "web")
    assert r.rc != 0 and "Cannot link to a non running container: /db AS /web/store" in r.err, r.err
    assert r.err.count("\n") == 1, r.err
    # removed: the link is gone from inspect, and a start says why it cannot run
    sampan.ok("rm", "db")
    assert inspect(sampan, "web")["HostConfig"]["Links"] is None
    r = sampan("start", "web")
    assert r.rc != 0 and "could not get container for store" in r.err and r.err.count("\n") == 1, r.err


def test_link_errors_and_hostile_aliases(sampan):
    r = sampan("run", "--rm", "--link", "nope", "busybox", "true")
    assert r.rc == 125 and "could not get container for nope" in r.err and r.err.count("\n") == 1, r.err
    sampan.ok("create", "--name", "db", *NONE, "busybox", "true")
    for spec in ("db:bad\nalias", "db:a b", "db:-x", "db:a:b", "db:", "", "db:a\tb", "db:x#y", "db:é"):
        r = sampan("create", "--link", spec, "busybox", "true")
        assert r.rc == 125 and r.err.count("\n") == 1 and "link" in r.err, (spec, r.err)
    for net, words in (("host", "host type networking can't be used with links"),
                       ("container:db", "container type network can't be used with links")):
        r = sampan("create", "--network", net, "--link", "db", "busybox", "true")
        assert r.rc == 125 and words in r.err, r.err
    assert sampan.ok("ps", "-aq").split() == [inspect(sampan, "db")["Id"][:12]]  # nothing else was made


def test_link_on_a_user_network_is_an_alias(sampan):
    from sampan.network.resolver import binary
    sampan.ok("network", "create", "linknet")
    sampan.ok("run", "-d", "--name", "db", "--network", "linknet", "--expose", "80", "busybox", "sleep", "60")
    db_ip = inspect(sampan, "db")["NetworkSettings"]["Networks"]["linknet"]["IPAddress"]
    sampan.ok("run", "-d", "--name", "web", "--network", "linknet", "--link", "db:store", "busybox", "sleep", "60")
    out = sampan.ok("exec", "web", "sh", "-c", "grep -w store /etc/hosts; env | grep -c '^STORE_' || true")
    assert out.split()[:2] == [db_ip, "store"] and out.split()[-1] == "0"  # no variables, as Docker
    if binary():  # the network's resolver answers the alias (busybox's nslookup asks it)
        out = sampan.ok("exec", "web", "nslookup", "store")
        assert f"Address: {db_ip}" in out.split("Name:")[1], out
    info = inspect(sampan, "web")
    assert info["HostConfig"]["Links"] is None
    assert info["NetworkSettings"]["Networks"]["linknet"]["Links"] == ["db:store"]
    sampan.ok("rm", "-f", "web")
    if binary():  # its linker gone, the alias is no longer served
        r = sampan("exec", "db", "nslookup", "store")
        assert db_ip not in r.out, r.out
    sampan.ok("rm", "-f", "db")
    sampan.ok("network", "rm", "linknet")


def _subnet_host(sampan, net, n) -> str:
    import ipaddress
    subnet = json.loads(sampan.ok("network", "inspect", net))[0]["IPAM"]["Config"][0]["Subnet"]
    return str(list(ipaddress.ip_network(subnet).hosts())[n])


def test_network_connect_ip_running_and_stopped(sampan):
    sampan.ok("network", "create", "fixnet")
    want = _subnet_host(sampan, "fixnet", 40)
    sampan.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    sampan.ok("network", "connect", "--ip", want, "--alias", "fixed", "fixnet", "box")
    out = sampan.ok("exec", "box", "ip", "-4", "-o", "addr", "show", "eth1")
    assert f"inet {want}/" in out
    ep = inspect(sampan, "box")["NetworkSettings"]["Networks"]["fixnet"]
    assert ep["IPAddress"] == want and ep["IPAMConfig"] == {"IPv4Address": want}
    # kept across a restart, as Docker keeps the endpoint's IPAMConfig
    sampan.ok("restart", "-t", "0", "box")
    assert f"inet {want}/" in sampan.ok("exec", "box", "ip", "-4", "-o", "addr", "show", "eth1")
    sampan.ok("rm", "-f", "box")
    # a stopped container: the address is used when it starts
    other = _subnet_host(sampan, "fixnet", 41)
    sampan.ok("create", "--name", "later", "--network", "none", "busybox", "ip", "-4", "-o", "addr")
    sampan.ok("network", "connect", "--ip", other, "fixnet", "later")
    assert f"inet {other}/" in sampan.ok("start", "-a", "later")
    sampan.ok("rm", "-f", "later")
    sampan.ok("network", "rm", "fixnet")


def test_network_connect_bad_ip_refused(sampan):
    sampan.ok("network", "create", "fixnet2")
    sampan.ok("create", "--name", "cc", "busybox", "true")
    net = _subnet_host(sampan, "fixnet2", 0)
    for ip, words in (("10.255.255.5", "no configured subnet contains"), ("nope", "invalid IPv4 address"),
                      ("1.2.3.4\n", "invalid IPv4 address"), (net, "gateway")):
        r = sampan("network", "connect", "--ip", ip, "fixnet2", "cc")
        assert r.rc != 0 and words in r.err and r.err.count("\n") == 1, (ip, r.err)
    r = sampan("network", "connect", "--ip", "172.17.0.9", "bridge", "cc")
    assert r.rc != 0 and "user defined networks only" in r.err
    assert set(inspect(sampan, "cc")["NetworkSettings"]["Networks"]) == {"bridge"}  # nothing half done
    sampan.ok("rm", "cc")
    sampan.ok("network", "rm", "fixnet2")


def test_network_connect_link(sampan):
    from sampan.network.resolver import binary
    sampan.ok("network", "create", "lnet")
    sampan.ok("run", "-d", "--name", "db", "--network", "lnet", "busybox", "sleep", "60")
    db_ip = inspect(sampan, "db")["NetworkSettings"]["Networks"]["lnet"]["IPAddress"]
    sampan.ok("run", "-d", "--name", "web", "busybox", "sleep", "60")  # on the default bridge
    r = sampan("network", "connect", "--link", "db:bad\nname", "lnet", "web")
    assert r.rc != 0 and r.err.count("\n") == 1 and "link" in r.err, r.err
    r = sampan("network", "connect", "--link", "db:x", "bridge", "web")
    assert r.rc != 0 and "only supported for user-defined networks" in r.err
    assert set(inspect(sampan, "web")["NetworkSettings"]["Networks"]) == {"bridge"}
    sampan.ok("network", "connect", "--link", "db:cache", "lnet", "web")
    assert sampan.ok("exec", "web", "grep", "-w", "cache", "/etc/hosts").split()[:2] == [db_ip, "cache"]
    if binary():
        gateway = json.loads(sampan.ok("network", "inspect", "lnet"))[0]["IPAM"]["Config"][0]["Gateway"]
        assert db_ip in sampan.ok("exec", "web", "nslookup", "cache", gateway)  # lnet's resolver
    assert inspect(sampan, "web")["NetworkSettings"]["Networks"]["lnet"]["Links"] == ["db:cache"]
    sampan.ok("network", "disconnect", "lnet", "web")
    r = sampan("exec", "web", "grep", "-w", "cache", "/etc/hosts")
    assert r.rc == 1 and r.out == ""  # the link went with the network
    # a stopped container: recorded, resolved when it starts
    sampan.ok("create", "--name", "later", "busybox", "sh", "-c", "grep -w cache /etc/hosts")
    sampan.ok("network", "connect", "--link", "db:cache", "lnet", "later")
    assert sampan.ok("start", "-a", "later").split()[:2] == [db_ip, "cache"]
    sampan.ok("rm", "-f", "web", "later", "db")
    sampan.ok("network", "rm", "lnet")
