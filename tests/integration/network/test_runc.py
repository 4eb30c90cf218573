"""The engine's contract: an OCI runtime joins the netns that setup() returns, and the
container sees its address, route, and the hosts/resolv files we wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile

import pytest

from .conftest import Box, token

pytestmark = pytest.mark.skipif(shutil.which("runc") is None, reason="runc not installed")


def test_runc_container_in_our_netns_sees_its_network(nm, tmp_path, busybox_tar):
    bundle = tmp_path / "bundle"
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    with tarfile.open(busybox_tar) as t:
        t.extractall(rootfs)
    hosts, resolv = tmp_path / "hosts", tmp_path / "resolv.conf"
    net = nm.create(f"oci-{token()}")
    peer = Box(nm, network=net.name, hostname="peer")
    box = Box(nm, network=net.name, hostname="app", hosts_path=hosts)
    resolv.write_bytes(nm.resolv_conf())
    subprocess.run(["runc", "spec", "-b", str(bundle)], check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sh", "-c", "ip -o -4 addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf"]
    config["root"]["readonly"] = False
    config["hostname"] = "app"
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "network"]
    config["linux"]["namespaces"].append({"type": "network", "path": str(box.ns)})
    config["mounts"] += [{"destination": "/etc/hosts", "type": "bind", "source": str(hosts), "options": ["bind"]},
                         {"destination": "/etc/resolv.conf", "type": "bind", "source": str(resolv),
                          "options": ["bind"]}]
    (bundle / "config.json").write_text(json.dumps(config))
    name = f"sampan-net-{token()}"
    try:
        r = subprocess.run(["runc", "--root", str(tmp_path / "runc"), "run", "-b", str(bundle), name],
                           capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["runc", "--root", str(tmp_path / "runc"), "delete", "-f", name], capture_output=True)
        box.release()
        peer.release()
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"inet {box.att.ip}/{box.att.prefix}" in out
    assert f"default via {net.gateway} dev eth0" in out
    assert f"{peer.att.ip}\tpeer" in out and f"{box.att.ip}\tapp" in out
    assert "nameserver" in out and "127.0.0.53" not in out
    nm.remove(net.name)
