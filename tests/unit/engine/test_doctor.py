"""`doctor` on made-up hosts: each missing feature is named with its fix, and only the
needed ones make it say sampan cannot run here."""

import os
import stat
from pathlib import Path

import pytest

from sampan.engine.doctor import MISSING, OK, WARN, Host, can_run, diagnose


def fake_host(tmp_path: Path, *, v2: bool = True, overlay: bool = True, plugins=("bridge", "portmap",
              "host-local", "loopback", "firewall"), namespaces=("mnt", "pid", "net", "uts", "ipc", "user",
              "cgroup"), version: str = "Linux version 6.1.0-13-amd64", euid: int = 0,
              controllers: str = "cpuset cpu io memory pids") -> Host:
    proc, sys_, cni, bin_ = tmp_path / "proc", tmp_path / "sys", tmp_path / "cni", tmp_path / "bin"
    for d in (proc / "self/ns", proc / "sys/kernel/seccomp", proc / "sys/user", proc / "sys/net/ipv4",
              sys_ / "fs/cgroup", cni, bin_):
        d.mkdir(parents=True, exist_ok=True)
    (proc / "sys/kernel/osrelease").write_text("6.1.0-13-amd64\n")
    (proc / "version").write_text(version + "\n")
    (proc / "filesystems").write_text("nodev\tproc\n" + ("nodev\toverlay\n" if overlay else ""))
    (proc / "self/status").write_text("Name:\tx\nSeccomp:\t0\n")
    (proc / "sys/user/max_user_namespaces").write_text("1000\n")
    (proc / "sys/net/ipv4/ip_forward").write_text("0\n")
    for n in namespaces:
        (proc / "self/ns" / n).write_text("")
    if v2:
        (sys_ / "fs/cgroup/cgroup.controllers").write_text(controllers + "\n")
        (sys_ / "fs/cgroup/cgroup.subtree_control").write_text("memory pids\n")
    for p in plugins:
        (cni / p).write_text("#!/bin/sh\n")
        (cni / p).chmod(stat.S_IRWXU)
    return Host(proc=proc, sys=sys_, cni_path=str(cni), modules=tmp_path / "modules", path=str(bin_), euid=euid)


def by_name(findings):
    return {f.name: f for f in findings}


def test_a_complete_v2_host_can_run_containers(tmp_path):
    found = by_name(diagnose(fake_host(tmp_path)))
    assert found["cgroups"].status == OK and "v2 (unified)" in found["cgroups"].detail
    assert "not yet enabled in subtree_control: cpu" in found["cgroups"].detail
    assert found["overlayfs"].status == OK and found["CNI plugins"].status == OK
    assert found["ip forwarding"].status == WARN  # 0 in the fake tree: a warning, not fatal
    assert found["iptables"].status == WARN and "apt-get install iptables" in found["iptables"].fix
    assert can_run(list(found.values()))


def test_a_missing_cni_plugin_is_named_with_its_package(tmp_path):
    found = by_name(diagnose(fake_host(tmp_path, plugins=("bridge",))))
    cni = found["CNI plugins"]
    assert cni.status == WARN and cni.detail.endswith("lacks host-local, firewall")
    assert "containernetworking-plugins" in cni.fix
    assert can_run(list(found.values()))  # --network none still works


def test_no_overlay_means_no_containers(tmp_path):
    findings = diagnose(fake_host(tmp_path, overlay=False))
    overlay = by_name(findings)["overlayfs"]
    assert overlay.status == MISSING and overlay.needed and "modprobe overlay" in overlay.fix
    assert not can_run(findings)


def test_the_overlay_module_on_disk_is_enough(tmp_path):
    host = fake_host(tmp_path, overlay=False)
    (host.modules / "6.1.0-13-amd64/kernel/fs/overlayfs").mkdir(parents=True)
    assert by_name(diagnose(host))["overlayfs"].status == OK


def test_missing_namespaces_and_v2_controllers(tmp_path):
    findings = diagnose(fake_host(tmp_path, namespaces=("mnt", "uts", "ipc"), controllers="cpuset io"))
    found = by_name(findings)
    assert found["namespaces"].status == MISSING and "pid, net" in found["namespaces"].detail
    assert found["cgroups"].status == WARN and "memory, pids, cpu" in found["cgroups"].fix
    assert not can_run(findings)


def test_not_root_and_wsl(tmp_path):
    findings = diagnose(fake_host(tmp_path, euid=1000, version="Linux version 5.15.90.1-microsoft-standard-WSL2"))
    found = by_name(findings)
    assert found["root"].status == MISSING and "sudo" in found["root"].fix
    assert found["WSL 2"].status == WARN
    assert not can_run(findings)


def test_no_cgroups_mounted(tmp_path):
    findings = diagnose(fake_host(tmp_path, v2=False))
    assert by_name(findings)["cgroups"].status == MISSING
    assert not can_run(findings)


def test_this_host(tmp_path):
    """The real host (root, a real kernel): whatever it lacks is named, and a root CI
    machine that runs the suite can run containers."""
    findings = diagnose()
    assert all(f.status in (OK, WARN, MISSING) and f.detail for f in findings)
    if os.geteuid() == 0:
        assert can_run(findings), [f for f in findings if f.status == MISSING]


def test_no_aardvark_means_names_by_hosts_files_only(tmp_path):
    import dataclasses
    host = dataclasses.replace(fake_host(tmp_path), aardvark=None)
    found = by_name(diagnose(host))
    dns = found["DNS on user networks"]
    assert dns.status == WARN and "apt-get install aardvark-dns" in dns.fix
    assert can_run(list(found.values()))
    with_it = by_name(diagnose(dataclasses.replace(host, aardvark="/usr/lib/podman/aardvark-dns")))
    assert with_it["DNS on user networks"].status == OK


def test_the_idle_monitor_without_and_with_a_compiler(tmp_path, monkeypatch):
    monkeypatch.delenv("SAMPAN_CC", raising=False)
    host = fake_host(tmp_path)  # its PATH has no gcc
    found = by_name(diagnose(host))["idle monitor"]
    assert found.status == WARN and "Python monitor" in found.detail and "gcc" in found.fix
    gcc = Path(host.path) / "gcc"
    gcc.write_text("#!/bin/sh\n")
    gcc.chmod(stat.S_IRWXU)
    found = by_name(diagnose(host))["idle monitor"]
    assert found.status == OK and str(gcc) in found.detail


def test_the_idle_monitor_says_where_its_binary_comes_from(tmp_path, monkeypatch):
    from sampan.engine import cmonitor_build
    if cmonitor_build.compiler() is None:
        pytest.skip("no C compiler (the test above covers what doctor says then)")
    monkeypatch.delenv("SAMPAN_CC", raising=False)
    cache = tmp_path / "cache" / "libexec"
    monkeypatch.setenv("SAMPAN_LIBEXEC_CACHE", str(cache))
    host = Host(path=os.path.dirname(cmonitor_build.compiler()))
    found = by_name(diagnose(host))["idle monitor"]
    assert found.status == OK and f"{cache}, compiled there at first use" in found.detail
    (tmp_path / "root").mkdir()
    exe = Path(cmonitor_build.binary(str(tmp_path / "root")))
    found = by_name(diagnose(host))["idle monitor"]
    assert found.status == OK and f"C from the host cache: {exe}" in found.detail
    exe.chmod(0o777)  # never run: doctor says so, in one line, and how to fix it
    found = by_name(diagnose(host))["idle monitor"]
    assert found.status == WARN and "own copy" in found.detail and "writable by group or others" in found.detail
    assert str(cache) in found.fix and "\n" not in found.detail
