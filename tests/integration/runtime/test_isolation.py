"""What the container sees from inside, over both runtimes."""

from __future__ import annotations

import os

import pytest

from tests.integration.runtime.bundle import DOCKER_CAPS
from sampan.runtime.caps import mask
from tests.integration.runtime.conftest import read_all
from tests.support import cgroups

DOCKER_MASK = f"{mask(DOCKER_CAPS):016x}"


def field(out: str, name: str) -> str:
    for line in out.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in output:\n{out}")


def test_pid1_hostname_and_capabilities(h):
    rc, out = h.run(["sh", "-c", "echo pid=$$; hostname; cat /proc/1/status"])
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0] == "pid=1"
    assert lines[1].startswith("box-")
    assert field(out, "CapEff") == DOCKER_MASK
    assert field(out, "CapBnd") == DOCKER_MASK
    assert field(out, "CapPrm") == DOCKER_MASK
    assert field(out, "CapInh") == "0" * 16
    assert field(out, "NoNewPrivs") == "1"


def test_own_namespaces_differ_from_host(h):
    rc, out = h.run(["sh", "-c", "for n in mnt pid uts ipc net cgroup; do echo $n $(readlink /proc/self/ns/$n); done"])
    assert rc == 0, out
    for line in out.splitlines():
        name, inode = line.split()
        assert inode != os.readlink(f"/proc/self/ns/{name}"), name


def test_host_network_when_spec_omits_net(h):
    def edit(spec):
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    rc, out = h.run(["readlink", "/proc/self/ns/net"], edit)
    assert rc == 0, out
    assert out.strip() == os.readlink("/proc/self/ns/net")


def test_mounts_devices_and_masks(h):
    script = ("cat /proc/self/mountinfo; echo ---; ls /dev; echo ---; readlink /dev/ptmx; readlink /dev/fd; "
              "echo ---; wc -c < /proc/keys; echo x > /proc/sys/kernel/domainname || echo rofail")
    rc, out = h.run(["sh", "-c", script])
    assert rc == 0, out
    mountinfo, devs, links, rest = out.split("---\n")
    mounts = {l.split()[4]: l.split() for l in mountinfo.splitlines()}
    # v1: a tmpfs with a mount per hierarchy; v2: the one cgroup2 mount
    cgroup_mp = "/sys/fs/cgroup" if cgroups.V2 else "/sys/fs/cgroup/memory"
    for mp in ("/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", cgroup_mp):
        assert mp in mounts, mp
    assert "ro" in mounts["/sys"][5].split(",")
    assert "ro" in mounts["/proc/sys"][5].split(",")
    assert "ro" in mounts[cgroup_mp][5].split(",")
    assert mounts[cgroup_mp][-3] == ("cgroup2" if cgroups.V2 else "cgroup")
    assert "newinstance" in " ".join(mounts["/dev/pts"]) or "ptmxmode=666" in " ".join(mounts["/dev/pts"])
    for d in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm"):
        assert d in devs.split(), d
    assert links.split() == ["pts/ptmx", "/proc/self/fd"]
    assert rest.splitlines()[0].strip() == "0"  # masked by /dev/null
    assert "rofail" in rest


def test_readonly_rootfs_still_gets_its_missing_cwd(h):
    def edit(spec):
        spec["root"]["readonly"] = True
        spec["process"]["cwd"] = "/srv/app"
    rc, out = h.run(["sh", "-c", "pwd; touch x || echo ro"], edit)
    assert out.splitlines()[0] == "/srv/app" and "ro" in out.split(), out


def test_readonly_rootfs(h):
    rc, out = h.run(["sh", "-c", "touch /newfile && echo wrote; awk '$5 == \"/\" {print $6}' /proc/self/mountinfo"],
                    lambda s: s["root"].__setitem__("readonly", True))
    assert "wrote" not in out
    assert "Read-only file system" in out
    assert "ro" in out.splitlines()[-1].split(","), out


def test_user_groups_cwd_env_rlimit(h):
    def edit(spec):
        spec["process"]["user"] = {"uid": 33, "gid": 33, "additionalGids": [50]}
        spec["process"]["cwd"] = "/var/www/new/dir"
        spec["process"]["env"].append("GREETING=hello world")
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]
    rc, out = h.run(["sh", "-c", 'id -u; id -g; id -G; pwd; echo "$GREETING"; ulimit -n; '
                     'grep CapEff /proc/self/status'], edit)
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[:6] == ["33", "33", "33 50", "/var/www/new/dir", "hello world", "256"]
    assert lines[6].split()[1] == "0" * 16  # a non-root user keeps no capabilities (no ambient)


def test_bind_mounts_readonly_and_files(h, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello").write_text("from host\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost sampan-test\n")

    def edit(spec):
        spec["mounts"] += [
            {"destination": "/data", "type": "bind", "source": str(data), "options": ["rbind", "ro"]},
            {"destination": "/etc/hosts", "type": "bind", "source": str(hosts), "options": ["rbind", "rw"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]},
        ]
    rc, out = h.run(["sh", "-c", "cat /data/hello; echo x > /data/new || echo rofail; cat /etc/hosts; "
                     "echo y > /scratch/f && cat /scratch/f"], edit)
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0] == "from host"
    assert "Read-only file system" in out and "rofail" in lines
    assert lines[-2:] == ["127.0.0.1 localhost sampan-test", "y"]
    assert not (data / "new").exists()


def test_memory_limit_visible_inside(h):
    def edit(spec):
        spec["linux"]["resources"] = {"memory": {"limit": 64 << 20, "swap": 64 << 20},
                                      "cpu": {"quota": 50000, "period": 100000}, "pids": {"limit": 50}}
    files = ("memory.max memory.swap.max cpu.max pids.max" if cgroups.V2 else
             "memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes cpu/cpu.cfs_quota_us pids/pids.max")
    rc, out = h.run(["sh", "-c", f"cd /sys/fs/cgroup && cat {files}; cat /proc/self/cgroup"], edit)
    assert rc == 0, out
    lines = out.splitlines()
    if cgroups.V2:  # swap alone (OCI's swap is memory+swap), quota with its period
        assert lines[:4] == [str(64 << 20), "0", "50000 100000", "50"], out
    else:
        assert lines[:4] == [str(64 << 20), str(64 << 20), "50000", "50"], out
    # cgroup namespace: the container sees itself at its cgroup's root
    assert any(l.endswith(":/") and (l.startswith("0::") if cgroups.V2 else ":memory:" in l)
               for l in lines[4:]), out


def test_pids_limit_stops_a_fork_loop(h):
    def edit(spec):
        spec["linux"]["resources"] = {"pids": {"limit": 8}}
    # the inner shell dies when fork fails; the outer one counts what is alive with builtins only
    script = ("sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 100 & done'; "
              "echo rc=$?; set -- /proc/[0-9]*; echo procs=$#; kill -9 -1")
    rc, out = h.run(["sh", "-c", script], edit)
    assert "can't fork" in out or "Resource temporarily unavailable" in out, out
    assert "rc=0" not in out, out
    procs = int(out.split("procs=")[1].split()[0])
    assert procs <= 8, out


def test_memory_hog_is_oom_killed(h):
    def edit(spec):
        spec["linux"]["resources"] = {"memory": {"limit": 16 << 20, "swap": 16 << 20}}
    cid, created, r = h.create(["tail", "/dev/zero"], edit)
    h.rt.start(cid)
    assert not h.rt.oom_killed(cid) or True  # may already be dying; the real check is below
    _, status = os.waitpid(created.pid, 0)
    read_all(r)
    assert os.waitstatus_to_exitcode(status) == -9
    assert h.rt.oom_killed(cid)


def test_no_oom_reported_for_a_clean_exit(h):
    cid, created, r = h.create(["true"], lambda s: s["linux"].__setitem__(
        "resources", {"memory": {"limit": 64 << 20}}))
    h.rt.start(cid)
    os.waitpid(created.pid, 0)
    read_all(r)
    assert not h.rt.oom_killed(cid)


def test_device_rules_block_a_denied_device(h):
    def edit(spec):
        spec["linux"]["resources"] = {"devices": [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        ]}
    # /dev/fuse (10:229) opens without any capability, so only the device cgroup can refuse it
    script = "mknod /tmp/fuse c 10 229 && (exec 3<>/tmp/fuse) && echo fuse-open; head -c 1 /dev/zero | wc -c"
    rc, out = h.run(["sh", "-c", script], edit)
    assert "fuse-open" not in out and "Operation not permitted" in out, out
    assert out.split()[-1] == "1"  # an allowed device works

def test_default_device_rules_match_runc(h):
    # with no rules in the spec, both runtimes allow only the standard devices (and tun)
    script = ("for d in 1:3 1:5 1:9 10:200 10:229 10:237; do mknod /tmp/d$d c ${d%:*} ${d#*:} || echo nomknod; "
              "(exec 3</tmp/d$d) 2>/dev/null && echo ok $d || echo denied $d; done")
    rc, out = h.run(["sh", "-c", script])
    assert out.splitlines() == ["ok 1:3", "ok 1:5", "ok 1:9", "ok 10:200", "denied 10:229", "denied 10:237"]


def test_seccomp_profile_blocks_a_syscall(h):
    # allow everything, refuse sethostname-family and chmod-family with EPERM (busybox hostname / chmod)
    def edit(spec):
        spec["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [
                {"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            ],
        }
    rc, out = h.run(["sh", "-c", "touch /tmp/f; chmod 600 /tmp/f || echo chmod-refused; "
                     "mkdir /tmp/d || echo mkdir-refused; echo still-running"], edit)
    assert "chmod-refused" in out and "Operation not permitted" in out, out
    assert "mkdir-refused" in out and "Permission denied" in out, out
    assert "still-running" in out


def oci_profile_from_containers_json(path: str, caps: list[str]) -> dict:
    """containers-common's Docker-format profile -> OCI linux.seccomp (what specgen would do)."""
    import json
    src = json.load(open(path))
    arches = []
    for m in src.get("archMap") or []:
        if m["architecture"] == "SCMP_ARCH_X86_64":  # the host's entry only, as Docker picks it
            arches += [m["architecture"]] + list(m.get("subArchitectures") or [])
    rules = []
    for r in src["syscalls"]:
        inc, exc = r.get("includes") or {}, r.get("excludes") or {}
        if inc.get("caps") and not set(inc["caps"]) <= set(caps):
            continue
        if exc.get("caps") and set(exc["caps"]) & set(caps):
            continue
        if inc.get("arches") and "amd64" not in inc["arches"] and "x86_64" not in inc["arches"]:
            continue
        if exc.get("arches") and ("amd64" in exc["arches"] or "x86_64" in exc["arches"]):
            continue
        rule = {k: r[k] for k in ("names", "action", "args", "errnoRet") if r.get(k) is not None}
        rules.append(rule)
    return {"defaultAction": src["defaultAction"], "defaultErrnoRet": src.get("defaultErrnoRet"),
            "architectures": arches, "syscalls": rules}


@pytest.mark.skipif(not os.path.exists("/usr/share/containers/seccomp.json"), reason="no containers-common profile")
def test_a_real_default_seccomp_profile_loads_and_the_shell_runs(h):
    from tests.integration.runtime.bundle import DOCKER_CAPS as caps
    profile = oci_profile_from_containers_json("/usr/share/containers/seccomp.json", caps)

    def edit(spec):
        spec["linux"]["seccomp"] = profile
    rc, out = h.run(["sh", "-c", "grep Seccomp: /proc/self/status; echo ok; ls / >/dev/null && echo ls-ok"], edit)
    assert rc == 0, out
    assert out.split() == ["Seccomp:", "2", "ok", "ls-ok"], out


def test_signals_and_umask_start_clean(h):
    # Python ignores SIGPIPE and SIGXFSZ; ignored signals survive exec, so the runtime must reset them
    rc, out = h.run(["cat", "/proc/self/status"])
    assert rc == 0
    assert field(out, "SigIgn") == "0" * 16
    assert field(out, "SigBlk") == "0" * 16
    assert field(out, "Umask") == "0022"
    rc, out = h.run(["sh", "-c", "yes | head -n 2"])
    assert rc == 0 and out.split() == ["y", "y"]


def test_sysctl_domainname_and_oom_score_adj(h):
    def edit(spec):
        spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"}
        spec["domainname"] = "example.test"
        spec["process"]["oomScoreAdj"] = 123
    rc, out = h.run(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax "
                     "/proc/sys/kernel/domainname /proc/self/oom_score_adj"], edit)
    assert rc == 0, out
    values = out.split()
    assert values[:2] == ["1", "12345"] and values[3] == "123"
    if h.rt.name == "native":  # runc learnt domainname in 1.2; this host has 1.1
        assert values[2] == "example.test"
    # the host's values are untouched (own net and ipc namespaces)
    with open("/proc/sys/kernel/msgmax") as f:
        assert f.read().strip() != "12345"
