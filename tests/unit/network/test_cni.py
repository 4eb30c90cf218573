"""CNI invocation against fake plugins (shell scripts) that record what they were given."""

import json
from pathlib import Path

import pytest

from sampan.errors import NetworkError
from sampan.network import cni
from sampan.network.conflist import build_conflist, runtime_config
from sampan.network.ports import PortMapping
from sampan.network.types import NetworkInfo

FAKE = """#!/bin/sh
LOG={log}
n=$(ls "$LOG" | wc -l)
cat > "$LOG/$n-$CNI_COMMAND-{name}.stdin"
env | grep '^CNI_' | sort > "$LOG/$n-$CNI_COMMAND-{name}.env"
{body}
"""
RESULT = ('{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"aa:bb:cc:dd:ee:ff","sandbox":"/ns"}],'
          '"ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1","interface":0}]}')


@pytest.fixture
def plugins(tmp_path):
    bindir, log = tmp_path / "bin", tmp_path / "log"
    bindir.mkdir()
    log.mkdir()

    def make(name, body):
        p = bindir / name
        p.write_text(FAKE.format(name=name, body=body, log=log))
        p.chmod(0o755)
    make("bridge", f"[ \"$CNI_COMMAND\" = ADD ] && echo '{RESULT}'; exit 0")
    make("portmap", "[ \"$CNI_COMMAND\" = ADD ] && sed -n 's/.*\"prevResult\":\\(.*\\)}$/\\1/p' \"$LOG/$n-ADD-portmap.stdin\"; exit 0")
    make("broken", "echo '{\"code\":11,\"msg\":\"no luck\",\"details\":\"really\"}'; exit 1")
    return bindir, log


def _records(log: Path):
    return sorted(log.iterdir(), key=lambda p: int(p.name.split("-")[0]))


def _conflist(*types):
    plugins = [{"type": "bridge", "bridge": "br9"}]
    for t in types:
        plugins.append({"type": t, "capabilities": {"portMappings": True}} if t == "portmap" else {"type": t})
    return {"cniVersion": "1.0.0", "name": "net9", "plugins": plugins}


def test_add_chains_prev_result_and_sets_env(plugins, tmp_path):
    bindir, log = plugins
    call = cni.CniCall("cid123", tmp_path / "ns", "eth0", str(bindir))
    rc = runtime_config([PortMapping(80, 8080)])
    result = cni.add_chain(call, _conflist("portmap"), rc)
    assert result["ips"][0]["address"] == "10.9.0.2/24"
    recs = _records(log)
    env = (log / "0-ADD-bridge.env").read_text()
    for want in ("CNI_COMMAND=ADD", "CNI_CONTAINERID=cid123", f"CNI_NETNS={tmp_path}/ns", "CNI_IFNAME=eth0",
                 f"CNI_PATH={bindir}"):
        assert want in env
    bridge_in = json.loads((log / "0-ADD-bridge.stdin").read_text())
    assert bridge_in["name"] == "net9" and bridge_in["cniVersion"] == "1.0.0"
    assert "prevResult" not in bridge_in and "runtimeConfig" not in bridge_in  # no capability declared
    pm_in = json.loads(next(p for p in recs if p.name.endswith("ADD-portmap.stdin")).read_text())
    assert pm_in["prevResult"]["ips"][0]["address"] == "10.9.0.2/24"
    assert pm_in["runtimeConfig"]["portMappings"] == [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": ""}]


def test_del_runs_in_reverse_with_prev_result(plugins, tmp_path):
    bindir, log = plugins
    call = cni.CniCall("cid123", tmp_path / "ns", "eth0", str(bindir))
    cni.del_chain(call, _conflist("portmap"), {}, json.loads(RESULT))
    names = [p.name for p in _records(log) if p.name.endswith(".stdin")]
    assert names == ["0-DEL-portmap.stdin", "2-DEL-bridge.stdin"]
    assert json.loads((log / "2-DEL-bridge.stdin").read_text())["prevResult"]["ips"]


def test_failed_add_reports_plugin_message_and_cleans_up(plugins, tmp_path):
    bindir, log = plugins
    call = cni.CniCall("cid123", tmp_path / "ns", "eth0", str(bindir))
    with pytest.raises(NetworkError) as e:
        cni.add_chain(call, _conflist("broken"), {})
    assert str(e.value) == "CNI broken ADD failed: no luck (really)"
    assert any(p.name.endswith("DEL-bridge.stdin") for p in log.iterdir())  # cleanup ran


def test_missing_plugin_is_a_clear_error(tmp_path):
    call = cni.CniCall("c", tmp_path / "ns", "eth0", str(tmp_path))
    with pytest.raises(NetworkError, match="not found in"):
        cni.invoke("ADD", call, _conflist(), {"type": "nothere"}, None, {})


def test_conflist_only_has_the_plugins_needed(tmp_path):
    net = NetworkInfo("n", "0" * 64, "spab-1", "10.9.0.0/24", "10.9.0.1")
    assert [p["type"] for p in build_conflist(net, tmp_path, False, False)["plugins"]] == ["bridge"]
    full = build_conflist(net, tmp_path, True, True)
    assert [p["type"] for p in full["plugins"]] == ["bridge", "portmap", "firewall"]
    ipam = full["plugins"][0]["ipam"]
    assert ipam["dataDir"] == str(tmp_path) and ipam["routes"] == [{"dst": "0.0.0.0/0"}]
    # outbound NAT is one rule per network, not the plugin's per-container chain
    assert full["name"] == "spab-1" and full["plugins"][0]["ipMasq"] is False


def test_internal_network_has_no_route_out_and_no_masquerade(tmp_path):
    net = NetworkInfo("n", "0" * 64, "spab-1", "10.9.0.0/24", "10.9.0.1", internal=True)
    bridge = build_conflist(net, tmp_path, False, False)["plugins"][0]
    assert bridge["ipMasq"] is False and "routes" not in bridge["ipam"]


@pytest.mark.parametrize("policy,drops", [("DROP", True), ("ACCEPT", False)])
def test_forward_policy_probe_reads_iptables_output(policy, drops):
    import subprocess

    from sampan.network.conflist import forward_policy_drops

    probe = subprocess.Popen(["printf", f"-P FORWARD {policy}\\n-A FORWARD -j X\\n"], stdout=subprocess.PIPE)
    assert forward_policy_drops(probe) is drops
    assert forward_policy_drops(None) is False
