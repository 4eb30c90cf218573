"""run/create flags of issue 11, each checked from inside a real container and in
`inspect`'s HostConfig: --ulimit, --shm-size, --sysctl, --group-add, --dns-search/-option,
--init, --mount, --pid/--ipc/--uts, --cidfile, --label-file, --log-driver, --platform,
--stop-timeout; and the hostile inputs (a sysctl outside the container's namespaces, a
--mount source with '..', --pid container: of a stopped or unknown container)."""

import json
import os
import platform

import pytest

NONE = ["--network", "none"]


def host_config(sampan, name) -> dict:
    return json.loads(sampan.ok("inspect", name))[0]["HostConfig"]


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_ulimit_seen_inside(sampan, runtime):
    out = sampan.ok("run", "--name", "uu", "--runtime", runtime, *NONE, "--ulimit", "nofile=1024:2048",
                    "--ulimit", "nproc=500", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u")
    assert out.split() == ["1024", "2048", "500"]
    assert host_config(sampan, "uu")["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048},
                                                    {"Name": "nproc", "Soft": 500, "Hard": 500}]


def test_bad_ulimits_are_docker_errors(sampan):
    for spec, words in (("nofile", "invalid ulimit argument"), ("bogus=1", "invalid ulimit type"),
                        ("nofile=20:10", "soft limit must be less than or equal to hard limit"),
                        ("nofile=x", "invalid ulimit argument")):
        r = sampan("run", "--rm", "--ulimit", spec, "busybox", "true")
        assert r.rc == 125 and words in r.err and r.err.count("\n") == 1, (spec, r.err)


def test_shm_size_and_default(sampan):
    out = sampan.ok("run", "--name", "ss", *NONE, "--shm-size", "128m", "busybox", "df", "-k", "/dev/shm")
    assert out.splitlines()[-1].split()[1] == str(128 * 1024)
    assert host_config(sampan, "ss")["ShmSize"] == 128 << 20
    out = sampan.ok("run", "--rm", *NONE, "busybox", "df", "-k", "/dev/shm")
    assert out.splitlines()[-1].split()[1] == str(64 * 1024)


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_sysctl_namespaced_applied(sampan, runtime):
    out = sampan.ok("run", "--name", "kk", *NONE, "--runtime", runtime, "--sysctl", "net.ipv4.ip_forward=1",
                    "--sysctl", "kernel.shmmax=123456789", "busybox", "sh", "-c",
                    "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax")
    assert out.split() == ["1", "123456789"]
    assert host_config(sampan, "kk")["Sysctls"] == {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"}
    # the host's own values did not move
    assert open("/proc/sys/kernel/shmmax").read().strip() != "123456789"


def test_sysctl_outside_the_namespace_refused(sampan):
    for spec in ("kernel.core_pattern=|/tmp/x", "vm.overcommit_memory=1", "kernel.hostname=x",
                 "net.ipv4/../../kernel/core_pattern=x", "net..x=1", "fs.file-max=5"):
        r = sampan("run", "--rm", *NONE, "--sysctl", spec, "busybox", "true")
        assert r.rc == 125 and "is not allowed" in r.err, (spec, r.err)
    r = sampan("run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true")
    assert r.rc == 125 and "--network host" in r.err
    r = sampan("run", "--rm", *NONE, "--ipc", "host", "--sysctl", "kernel.shmmax=1", "busybox", "true")
    assert r.rc == 125 and "--ipc host" in r.err
    assert sampan("ps", "-aq").out == ""


def test_group_add_by_name_and_gid(sampan):
    out = sampan.ok("run", "--name", "gg", *NONE, "--group-add", "1234", "--group-add", "root",
                    "-u", "1000:1000", "busybox", "id", "-G")
    assert sorted(out.split()) == ["0", "1000", "1234"]
    assert host_config(sampan, "gg")["GroupAdd"] == ["1234", "root"]
    r = sampan("run", "--rm", *NONE, "--group-add", "nosuchgroup", "busybox", "true")
    assert r.rc == 125 and "unable to find group nosuchgroup" in r.err


@pytest.mark.parametrize("network", ["none", "bridge", "dnsnet"])
def test_dns_search_and_options(sampan, network):
    if network == "dnsnet":  # a user network: its gateway's resolver is the nameserver
        sampan.ok("network", "create", network)
    out = sampan.ok("run", "--name", "dd", "--network", network, "--dns-search", "example.com",
                    "--dns-search", "corp.example", "--dns-option", "ndots:2", "--dns-option", "timeout:3",
                    "busybox", "cat", "/etc/resolv.conf")
    lines = out.splitlines()
    assert "search example.com corp.example" in lines and "options ndots:2 timeout:3" in lines, out
    assert sum(ln.startswith("search") for ln in lines) == 1
    hc = host_config(sampan, "dd")
    assert (hc["DnsSearch"], hc["DnsOptions"]) == (["example.com", "corp.example"], ["ndots:2", "timeout:3"])
    r = sampan("run", "--rm", *NONE, "--dns-search", "bad domain!", "busybox", "true")
    assert r.rc == 125 and "is not a valid domain" in r.err


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_init_reaps_zombies_and_forwards_stop(sampan, runtime):
    # sh orphans a child that exits at once: without an init nobody reaps it
    script = ("sh -c 'sleep 0 & exit 0'; sleep 0.5; ps -o pid,stat,comm | awk '$2 ~ /Z/' | wc -l; "
              "cat /proc/1/cmdline | tr '\\0' ' '")
    out = sampan.ok("run", "--rm", *NONE, "--runtime", runtime, "--init", "busybox", "sh", "-c", script)
    zombies, cmdline = out.splitlines()
    assert zombies.strip() == "0"
    assert cmdline.startswith("/sbin/docker-init -- sh -c")
    out = sampan.ok("run", "--rm", *NONE, "busybox", "sh", "-c", "ls /sbin/docker-init 2>&1 || true")
    assert "No such file" in out  # only with --init
    # stop: tini passes SIGTERM to the child, whose trap records it and exits
    sampan.ok("run", "-d", "--name", "ii", *NONE, "--runtime", runtime, "--init", "busybox", "sh", "-c",
              "trap 'echo got-term; exit 3' TERM; while true; do sleep 0.1; done")
    assert sampan.ok("stop", "-t", "20", "ii").strip() == "ii"
    assert sampan.ok("logs", "ii").strip() == "got-term"
    state = json.loads(sampan.ok("inspect", "ii"))[0]
    assert state["State"]["ExitCode"] == 3 and state["HostConfig"]["Init"] is True
    assert host_config(sampan, "ii")["Init"] is True


def test_mount_bind_volume_tmpfs(sampan, tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "f").write_text("hello")
    out = sampan.ok(
        "run", "--name", "mm", *NONE,
        "--mount", f"type=bind,source={src},target=/b,readonly",
        "--mount", "type=volume,src=mvol,dst=/v,volume-nocopy",
        "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
        "busybox", "sh", "-c",
        "cat /b/f; echo; touch /b/x 2>/dev/null && echo rw || echo ro; echo v > /v/f && cat /v/f; "
        "stat -c %a /t; df -k /t | tail -1 | awk '{print $2}'")
    assert out.split() == ["hello", "ro", "v", "1770", "1024"]
    hc = host_config(sampan, "mm")
    assert [m["Type"] for m in hc["Mounts"]] == ["bind", "volume", "tmpfs"]
    assert hc["Mounts"][0]["ReadOnly"] is True and hc["Mounts"][0]["Target"] == "/b"
    assert hc["Binds"] is None  # -v only, as Docker
    mounts = json.loads(sampan.ok("inspect", "mm"))[0]["Mounts"]
    assert {(m["Type"], m["Destination"]) for m in mounts} == {("bind", "/b"), ("volume", "/v"), ("tmpfs", "/t")}
    sampan.ok("rm", "mm")
    sampan.ok("volume", "rm", "mvol")


def test_mount_errors_in_dockers_words(sampan, tmp_path):
    for spec, words in (
            ("type=bind,src=/nonexistent-x,dst=/x", 'invalid mount config for type "bind": bind source path '
                                                   "does not exist: /nonexistent-x"),
            ("type=bind,dst=/x", "field Source must not be empty"),
            ("type=volume,src=v", "field Target must not be empty"),
            ("type=tmpfs,src=x,dst=/x", "field Source must not be specified"),
            ("type=volume,dst=/x,tmpfs-size=1m", "field TmpfsOptions must not be specified"),
            ("type=foo,dst=/x", "mount type unknown"),
            ("type=bind,src=/tmp,dst=rel", "mount path must be absolute"),
            ("type=bind,src=/tmp,dst=/x,bind-propagation=wrong", "invalid propagation mode: wrong"),
            ("type=tmpfs,dst=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
            ("dst=/x,bogus=1", "unknown option 'bogus'"),
            ("dst", "invalid field 'dst' must be a key=value pair")):
        r = sampan("run", "--rm", *NONE, "--mount", spec, "busybox", "true")
        assert r.rc == 125 and words in r.err and r.err.count("\n") == 1, (spec, r.err)
    assert sampan("ps", "-aq").out == ""


def test_mount_source_with_dotdot(sampan, tmp_path):
    """A volume name cannot climb out of the volumes dir; a bind source is cleaned, so what
    inspect shows is what is bound."""
    for src in ("../../etc", "a/../../b", "..", "x/..%2f"):
        r = sampan("run", "--rm", *NONE, "--mount", f"type=volume,src={src},dst=/v", "busybox", "true")
        assert r.rc == 125 and "volume name" in r.err or "mount path must be absolute" in r.err, (src, r.err)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    crooked = f"{tmp_path}/nothere/../real"
    out = sampan.ok("run", "--name", "dd", *NONE, "--mount", f"type=bind,src={crooked},dst=/b",
                    "busybox", "cat", "/b/f")
    assert out == "x"
    mounts = json.loads(sampan.ok("inspect", "dd"))[0]["Mounts"]
    assert mounts[0]["Source"] == str(tmp_path / "real")
    assert not os.path.exists(tmp_path / "nothere")


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_pid_ipc_uts_host(sampan, runtime):
    r = sampan("run", "--rm", *NONE, "--runtime", runtime, "--pid", "host", "--uts", "host", "--ipc", "host",
               "busybox", "sh", "-c",
               "hostname; ls /proc | grep -c '^[0-9]'; readlink /proc/self/ns/ipc")
    assert r.rc == 0, r.err
    name, procs, ipc = r.out.split()
    assert name == os.uname().nodename and int(procs) > 10
    assert ipc == os.readlink("/proc/self/ns/ipc")
    assert "--pid host" in r.err  # the warning
    out = sampan.ok("run", "--rm", *NONE, "busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'")
    assert int(out) < 5
    r = sampan("run", "--rm", "--uts", "host", "-h", "x", "busybox", "true")
    assert r.rc == 125 and "conflicting options" in r.err
    for flag, value in (("--pid", "bogus"), ("--ipc", "weird"), ("--uts", "container:x"), ("--pid", "container:")):
        r = sampan("run", "--rm", flag, value, "busybox", "true")
        assert r.rc == 125 and "invalid" in r.err and "mode" in r.err, (flag, value, r.err)


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_pid_and_ipc_of_another_container(sampan, runtime):
    sampan.ok("run", "-d", "--name", "donor", *NONE, "--runtime", runtime, "--ipc", "shareable", "busybox",
              "sh", "-c", "echo shared > /dev/shm/token; exec sleep 60")
    out = sampan.ok("run", "--rm", *NONE, "--runtime", runtime, "--pid", "container:donor", "--ipc", "container:donor",
                    "busybox", "sh", "-c", "ps -o comm | grep -c sleep; cat /dev/shm/token")
    assert out.split() == ["1", "shared"]
    donor = json.loads(sampan.ok("inspect", "donor"))[0]
    ns_of = lambda pid, t: os.readlink(f"/proc/{pid}/ns/{t}")  # noqa: E731
    sampan.ok("create", "--name", "joiner", *NONE, "--pid", "container:donor", "--ipc", "container:donor",
              "busybox", "sleep", "60")
    sampan.ok("start", "joiner")
    joiner = json.loads(sampan.ok("inspect", "joiner"))[0]
    for t in ("pid", "ipc"):
        assert ns_of(joiner["State"]["Pid"], t) == ns_of(donor["State"]["Pid"], t)
    assert joiner["HostConfig"]["PidMode"] == "container:" + donor["Id"]
    assert donor["HostConfig"]["IpcMode"] == "shareable"
    sampan.ok("rm", "-f", "joiner")
    # a private donor's IPC is not shared (Docker's rule)
    sampan.ok("run", "-d", "--name", "private", *NONE, "busybox", "sleep", "60")
    r = sampan("run", "--rm", *NONE, "--ipc", "container:private", "busybox", "true")
    assert r.rc == 125 and "non-shareable IPC" in r.err
    sampan.ok("rm", "-f", "donor", "private")


def test_pid_of_stopped_or_unknown_container_refused(sampan):
    r = sampan("run", "--rm", *NONE, "--pid", "container:nosuch", "busybox", "true")
    assert r.rc == 1 or r.rc == 125
    assert "No such container" in r.err or "nosuch" in r.err
    sampan.ok("create", "--name", "stopped", *NONE, "busybox", "true")
    r = sampan("run", "--rm", *NONE, "--pid", "container:stopped", "busybox", "true")
    assert r.rc == 125 and "failed to join PID namespace: container stopped is not running" in r.err
    assert sampan("ps", "-aq").out.split() == [json.loads(sampan.ok("inspect", "stopped"))[0]["Id"][:12]]


def test_cidfile(sampan, tmp_path):
    cid = tmp_path / "cid"
    sampan.ok("run", "--name", "cc", *NONE, "--cidfile", str(cid), "busybox", "true")
    full = json.loads(sampan.ok("inspect", "cc"))[0]["Id"]
    assert cid.read_text() == full
    r = sampan("run", *NONE, "--cidfile", str(cid), "busybox", "true")
    assert r.rc == 125 and "container ID file found" in r.err
    assert cid.read_text() == full and len(sampan.ok("ps", "-aq").split()) == 1
    # a dangling symlink there is not followed
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    r = sampan("create", *NONE, "--cidfile", str(link), "busybox", "true")
    assert r.rc == 125 and not (tmp_path / "elsewhere").exists()


def test_label_file(sampan, tmp_path):
    f = tmp_path / "labels"
    f.write_text("# comment\n\na=1\nb=two words\nempty\n")
    sampan.ok("create", "--name", "ll", "--label-file", str(f), "-l", "a=override", "busybox", "true")
    labels = json.loads(sampan.ok("inspect", "ll"))[0]["Config"]["Labels"]
    assert labels == {"a": "override", "b": "two words", "empty": ""}
    r = sampan("create", "--label-file", str(tmp_path / "nope"), "busybox", "true")
    assert r.rc == 125 and "cannot read --label-file" in r.err


def test_log_driver_none_and_local(sampan):
    out = sampan.ok("run", "--name", "nn", *NONE, "--log-driver", "none", "busybox", "echo", "hi")
    assert out == "hi\n"  # attached output still flows
    r = sampan("logs", "nn")
    assert r.rc == 1 and "configured logging driver does not support reading" in r.err
    assert host_config(sampan, "nn")["LogConfig"]["Type"] == "none"
    sampan.ok("run", "--name", "loc", *NONE, "--log-driver", "local", "busybox", "echo", "hey")
    assert sampan.ok("logs", "loc") == "hey\n"
    assert host_config(sampan, "loc")["LogConfig"]["Type"] == "local"
    r = sampan("run", "--rm", "--log-driver", "syslog", "busybox", "true")
    assert r.rc == 125 and "log driver 'syslog' is not supported" in r.err


def test_platform(sampan):
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    assert sampan.ok("run", "--rm", *NONE, "--platform", f"linux/{arch}", "busybox", "echo", "ok") == "ok\n"
    other = "arm64" if arch != "arm64" else "amd64"
    r = sampan("run", "--rm", *NONE, "--platform", f"linux/{other}", "busybox", "true")
    assert r.rc == 125 and (f"does not match the specified platform (linux/{other})" in r.err), r.err
    r = sampan("run", "--rm", "--platform", "windows/amd64", "busybox", "true")
    assert r.rc == 125 and "not supported" in r.err


def test_stop_timeout_in_config_and_used_by_stop(sampan):
    sampan.ok("create", "--name", "st", "--stop-timeout", "7", "busybox", "true")
    assert json.loads(sampan.ok("inspect", "st"))[0]["Config"]["StopTimeout"] == 7
    # 0 is "kill at once", not the default 10 s: the trap that would exit 3 a second later never runs
    loop = "trap 'sleep 1; exit 3' TERM; while true; do sleep 0.1; done"
    sampan.ok("run", "-d", "--name", "st0", *NONE, "--init", "--stop-timeout", "0", "busybox", "sh", "-c", loop)
    sampan.ok("stop", "st0")
    assert json.loads(sampan.ok("inspect", "st0"))[0]["State"]["ExitCode"] == 137
    sampan.ok("run", "-d", "--name", "st5", *NONE, "--init", "--stop-timeout", "5", "busybox", "sh", "-c", loop)
    sampan.ok("stop", "st5")
    assert json.loads(sampan.ok("inspect", "st5"))[0]["State"]["ExitCode"] == 3


def test_ip_on_a_user_network(sampan):
    sampan.ok("network", "create", "ipnet")
    net = json.loads(sampan.ok("network", "inspect", "ipnet"))[0]
    subnet = net["IPAM"]["Config"][0]["Subnet"]
    import ipaddress
    hosts = list(ipaddress.ip_network(subnet).hosts())
    want = str(hosts[100])
    out = sampan.ok("run", "--name", "fixed", "--network", "ipnet", "--ip", want, "busybox", "sh", "-c",
                    "ip -4 -o addr show eth0 | awk '{print $4}'")
    assert out.strip().split("/")[0] == want
    sampan.ok("run", "-d", "--name", "holder", "--network", "ipnet", "--ip", want, "busybox", "sleep", "60")
    info = json.loads(sampan.ok("inspect", "holder"))[0]
    assert info["NetworkSettings"]["Networks"]["ipnet"]["IPAMConfig"] == {"IPv4Address": want}
    assert info["NetworkSettings"]["Networks"]["ipnet"]["IPAddress"] == want
    r = sampan("run", "--rm", "--network", "ipnet", "--ip", want, "busybox", "true")  # taken
    assert r.rc == 125 and "Address already in use" in r.err and r.err.count("\n") == 1, r.err
    r = sampan("run", "--rm", "--network", "ipnet", "--ip", "192.0.2.7", "busybox", "true")
    assert r.rc == 125 and "no configured subnet contains IP address 192.0.2.7" in r.err
    r = sampan("run", "--rm", "--network", "ipnet", "--ip", str(hosts[0]), "busybox", "true")  # the gateway
    assert r.rc == 125 and "gateway" in r.err
    r = sampan("run", "--rm", "--ip", want, "busybox", "true")
    assert r.rc == 125 and "user specified IP address is supported on user defined networks only" in r.err
    r = sampan("run", "--rm", "--network", "ipnet", "--ip", "not-an-ip", "busybox", "true")
    assert r.rc == 125 and "invalid IPv4 address" in r.err
    sampan.ok("rm", "-f", "holder", "fixed")
    # released with the container: the address can be had again
    sampan.ok("run", "--rm", "--network", "ipnet", "--ip", want, "busybox", "true")


def test_shareable_shm_across_restart_and_ipc_none(sampan):
    sampan.ok("create", "--name", "sh1", *NONE, "--ipc", "shareable", "--shm-size", "8m", "busybox", "sh", "-c",
              "df -k /dev/shm | tail -1 | awk '{print $2}'; ls /dev/shm; touch /dev/shm/mark")
    assert sampan.ok("start", "-a", "sh1").split() == [str(8 * 1024)]
    # the host holds the tmpfs only while the container runs: a new run starts empty
    assert sampan.ok("start", "-a", "sh1").split() == [str(8 * 1024)]
    shm = json.loads(sampan.ok("inspect", "sh1"))[0]["GraphDriver"]["Data"]["UpperDir"].rsplit("/", 1)[0] + "/shm"
    assert not os.path.ismount(shm)
    out = sampan.ok("run", "--rm", *NONE, "--ipc", "none", "busybox", "sh", "-c",
                    "grep -c ' /dev/shm ' /proc/mounts || true")
    assert out.strip() == "0"
    sampan.ok("create", "--name", "priv", "--ipc", "private", "busybox", "true")
    assert host_config(sampan, "priv")["IpcMode"] == "private"
