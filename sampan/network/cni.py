"""Invoke CNI plugins per the CNI 1.0 spec.

Each plugin is an executable found in CNI_PATH, told what to do through
CNI_COMMAND/CNI_CONTAINERID/CNI_NETNS/CNI_IFNAME/CNI_PATH and given its own
network configuration on stdin: the conflist's name and cniVersion merged in,
plus `prevResult` (the previous plugin's result) and `runtimeConfig` for the
capabilities it declares. ADD runs the list in order, DEL in reverse with the
cached ADD result as prevResult.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple

from sampan.errors import NetworkError

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    import subprocess
    from typing import Any

CNI_VERSION = "1.0.0"
DEFAULT_CNI_PATH = "/usr/lib/cni"


class CniCall(namedtuple(
        "CniCall", "container_id netns ifname cni_path", defaults=("eth0", DEFAULT_CNI_PATH))):
    __slots__ = ()  # fields (types for the reader):
    # container_id: str
    # netns: Path
    # ifname: str = "eth0"
    # cni_path: str = DEFAULT_CNI_PATH


def _env(command: str, call: CniCall) -> dict[str, str]:
    return {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": call.container_id,
        "CNI_NETNS": str(call.netns),
        "CNI_IFNAME": call.ifname,
        "CNI_PATH": call.cni_path,
        # plugins exec iptables/ip6tables/modprobe
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    }


def plugin_stdin(conflist: dict, plugin: dict, prev: dict | None, runtime: dict) -> bytes:
    conf: dict[str, Any] = dict(plugin)
    conf["cniVersion"] = conflist["cniVersion"]
    conf["name"] = conflist["name"]
    caps = plugin.get("capabilities") or {}
    rc = {k: v for k, v in runtime.items() if caps.get(k)}
    if rc:
        conf["runtimeConfig"] = rc
    if prev is not None:
        conf["prevResult"] = prev
    return json.dumps(conf).encode()


def spawn(command: str, call: CniCall, conflist: dict, plugin: dict, prev: dict | None,
          runtime: dict) -> subprocess.Popen:
    import subprocess  # not at module top: `import sampan.network` must stay cheap for `run`

    exe = os.path.join(call.cni_path, plugin["type"])
    try:
        p = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=_env(command, call), close_fds=True,
                             umask=0o077)  # host-local's address leases live in sampan's private root
    except FileNotFoundError:
        raise NetworkError(f"CNI plugin {plugin['type']!r} not found in {call.cni_path}; "
                           "install containernetworking-plugins") from None
    p._sampan_stdin = plugin_stdin(conflist, plugin, prev, runtime)  # type: ignore[attr-defined]
    return p


def finish(p: subprocess.Popen, command: str, plugin_type: str) -> dict | None:
    out, err = p.communicate(p._sampan_stdin)  # type: ignore[attr-defined]
    if p.returncode != 0:
        text = _error_text(out, err)
        if "no space left on device" in text:  # the IPAM's lease files: a full disk, said so
            import re
            where = re.search(r" (/\S+): no space left on device", text)
            raise NetworkError("no space left on device" + (f": {where.group(1)}" if where else
                                                            f" (CNI {plugin_type} {command})"))
        raise NetworkError(f"CNI {plugin_type} {command} failed: {text}")
    if not out.strip():
        return None
    try:
        return json.loads(out)
    except ValueError:
        raise NetworkError(f"CNI {plugin_type} {command} printed invalid JSON: {out[:200]!r}") from None


def _error_text(out: bytes, err: bytes) -> str:
    try:
        d = json.loads(out)
        msg = d.get("msg", "")
        if d.get("details"):
            msg += f" ({d['details']})"
        return msg or out.decode(errors="replace").strip()
    except ValueError:
        return (err or out).decode(errors="replace").strip().splitlines()[-1:][0] if (err or out) else "no output"


def invoke(command: str, call: CniCall, conflist: dict, plugin: dict, prev: dict | None,
           runtime: dict) -> dict | None:
    return finish(spawn(command, call, conflist, plugin, prev, runtime), command, plugin["type"])


def invoke_quietly(command: str, call: CniCall, conflist: dict, plugin: dict, prev: dict | None,
                   runtime: dict) -> None:
    """Best-effort (cleanup after a failed ADD): errors are dropped."""
    try:
        invoke(command, call, conflist, plugin, prev, runtime)
    except NetworkError:
        pass


def add_chain(call: CniCall, conflist: dict, runtime: dict) -> dict:
    """ADD each plugin in order; on failure, DEL what was added (spec: the runtime cleans up)."""
    prev: dict | None = None
    done: list[dict] = []
    try:
        for plugin in conflist["plugins"]:
            done.append(plugin)
            res = invoke("ADD", call, conflist, plugin, prev, runtime)
            prev = res if res is not None else prev
    except BaseException:
        del_chain(call, {**conflist, "plugins": done}, runtime, prev, ignore_errors=True)
        raise
    assert prev is not None
    return prev


def del_chain(call: CniCall, conflist: dict, runtime: dict, prev: dict | None,
              ignore_errors: bool = False) -> list[str]:
    """DEL in reverse order; returns the errors met (raises the first unless ignore_errors)."""
    errors: list[str] = []
    for plugin in reversed(conflist["plugins"]):
        try:
            invoke("DEL", call, conflist, plugin, prev, runtime)
        except NetworkError as e:
            if not ignore_errors:
                raise
            errors.append(str(e))
    return errors
