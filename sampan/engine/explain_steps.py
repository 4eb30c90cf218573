"""The engine's --explain lines that need some looking up (state/explain.py writes them).

Imported only when explaining: callers check `explain.on()` first, so a plain `run`
pays nothing for this module.
"""

from __future__ import annotations

from sampan.state.explain import explain, safe, size


@safe
def image_layers(ctx, image, ref: str) -> None:
    """The image's layers, bottom first, with the images that share each one."""
    layers = list(image.layers)
    total = sum((x.uncompressed_size if x.uncompressed_size is not None else x.size) for x in layers)
    explain("image", f"{ref} is {image.id}: {len(layers)} read-only layer(s), {size(total)} unpacked")
    chains = {}
    for other in ctx.images.list_images(all=True):
        if other.id != image.id:
            chains[other.id] = ([x.diff_id for x in other.layers], other.repo_tags)
    mine = [x.diff_id for x in layers]
    dirs = ctx.images.layer_dirs(image)  # top first, as overlay's lowerdir lists them
    for i, layer in enumerate(layers):
        users = [tags[0] if tags else oid.split(":", 1)[-1][:12]
                 for oid, (chain, tags) in chains.items() if chain[:i + 1] == mine[:i + 1]]
        shared = (f"shared with {len(users)} other image(s) ({', '.join(sorted(users)[:3])})"
                  if users else "used by this image alone")
        where = dirs[len(layers) - 1 - i] if len(dirs) == len(layers) else "?"
        explain("layer", f"{i + 1}/{len(layers)} {layer.diff_id} "
                f"{size(layer.uncompressed_size if layer.uncompressed_size is not None else layer.size)}"
                f" (stored once, unpacked in {where}), {shared}")


@safe
def overlay(lowers, upper, target) -> None:
    explain("overlay", f"mounted at {target}: lowerdir = {len(lowers) - 1} image layer dir(s) under the "
            f"container's init layer (read-only), upperdir = {upper} (this container's own layer: "
            f"every write lands there)")


@safe
def network(netns, att, maps, bridge: str) -> None:
    maps = att.ports or maps
    explain("network", f"network namespace {netns} (its own interfaces, routes and iptables)")
    explain("veth", f"veth pair: {att.host_veth or '?'} on the host, plugged into bridge {bridge} <-> "
            f"{att.ifname} inside the container (mac {att.mac})")
    explain("address", f"{att.ip}/{att.prefix} on network {att.network}, gateway {att.gateway or 'none'}")
    if maps:
        for line in _nat_rules(att.ip):
            explain("nat rule", f"iptables -t nat {line}")
        for m in maps:
            host = m.host_ip or "0.0.0.0"
            explain("port", f"{host}:{m.host_port}/{m.proto} -> {att.ip}:{m.container_port}: the kernel "
                    f"rewrites (DNAT) each new connection; sampan holds the host port open so no "
                    f"other program takes it")


def _nat_rules(ip: str) -> list[str]:
    """The rules of the nat table that name the container's address, as iptables-save shows them."""
    import subprocess

    try:
        out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.splitlines()
            if line.startswith("-A ") and (f"{ip}:" in line or f"{ip}/32" in line)]


@safe
def released(rec, held: tuple[bool, bool], files, removed_files: bool, network: bool = False) -> None:
    """network: also say the sandbox went (`rm -f`: its monitor may have released it)."""
    mounted, attached = held
    if mounted:
        explain("removed", f"overlay unmounted from {files['rootfs']}")
    net = rec.config.get("net") or {}
    if network and attached:
        explain("removed", f"network: {net.get('ip', '?')} released: its veth pair, NAT rules and namespace "
                f"are deleted by a background CNI DEL, or kept as a spare sandbox")
    if removed_files:
        removed(rec, files)


@safe
def removed(rec, files) -> None:
    explain("removed", f"container {rec.id[:12]}: {files['dir']} deleted, with its own layer "
            f"(upper/: everything it wrote)")
