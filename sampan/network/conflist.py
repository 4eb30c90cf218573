"""The CNI conflist sampan writes for one attachment.

Only the plugins a container needs: bridge (+host-local IPAM) always, firewall
only when the host's FORWARD policy drops (as Docker's daemon sets it). Published
ports are sampan's own rules (hostrules.py); portmap is in the lists of attachments
an older sampan made, and their DEL still runs it. The exact list used at ADD is
stored with the attachment, because DEL must be given the same configuration.
"""

from __future__ import annotations

from pathlib import Path

from sampan.network.cni import CNI_VERSION
from sampan.network.ports import PortMapping
from sampan.network.types import NetworkInfo

TYPE_CHECKING = False  # subprocess is imported where a probe starts, not on `run`'s import path
if TYPE_CHECKING:
    import subprocess


def build_conflist(net: NetworkInfo, ipam_dir: Path, portmap: bool = False, firewall: bool = False,
                   ip: str | None = None) -> dict:
    ipam: dict = {"type": "host-local", "ranges": [[{"subnet": net.subnet, "gateway": net.gateway}]],
                  "dataDir": str(ipam_dir)}
    if not net.internal:
        ipam["routes"] = [{"dst": "0.0.0.0/0"}]
    plugins: list[dict] = [{
        # outbound NAT is one rule per network (hostrules.ensure_masquerade), not the
        # plugin's per-container chain: its iptables calls grow with the containers
        "type": "bridge", "bridge": net.bridge, "isGateway": True, "ipMasq": False,
        "hairpinMode": True, "ipam": ipam,
    }]
    if ip:  # host-local takes the address asked for from runtimeConfig.ips (the "ips" capability)
        plugins[0]["capabilities"] = {"ips": True}
    if portmap:
        plugins.append({"type": "portmap", "capabilities": {"portMappings": True}, "snat": True})
    if firewall:
        plugins.append({"type": "firewall", "backend": "iptables"})
    return {"cniVersion": CNI_VERSION, "name": net.bridge, "plugins": plugins}


def runtime_config(mappings: list[PortMapping] | tuple[PortMapping, ...], ip: str | None = None) -> dict:
    """CNI `runtimeConfig` for the portMappings capability (host ports already resolved) and
    the ips one (--ip)."""
    out: dict = {"portMappings": [{"hostPort": m.host_port, "containerPort": m.container_port,
                                   "protocol": m.proto, "hostIP": m.host_ip} for m in mappings]}
    if ip:
        out["ips"] = [ip]
    return out


def start_forward_policy_probe() -> subprocess.Popen | None:
    """Start `iptables -S FORWARD` (~6 ms) so it runs while the bridge plugin does."""
    import subprocess
    try:
        return subprocess.Popen(["iptables", "-S", "FORWARD"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, close_fds=True)
    except OSError:
        return None


def forward_policy_drops(probe: subprocess.Popen | None) -> bool:
    if probe is None:
        return False
    out, _ = probe.communicate()
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("-P FORWARD"):
            return line.split()[-1] != "ACCEPT"
    return False
