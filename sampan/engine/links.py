"""--link NAME[:ALIAS] (HostConfig.Links), Docker's legacy links.

At create a link names a container (kept by id, so a rename does not break it) and an
alias; at each start the linked container must be running on the linking one's network,
and the linking container gets, as in Docker, an /etc/hosts line for it ("IP alias
hostname name") and its environment: ALIAS_PORT_80_TCP=tcp://IP:80 ... for its exposed
ports, ALIAS_NAME=/me/alias and ALIAS_ENV_KEY=value for its Config.Env.

Names reach /etc/hosts: an alias is one name of Docker's container-name characters, and
a linked container's hostname is written only when it is such a name too.
"""

from __future__ import annotations

import re

from sampan.errors import ContainerNotFound, InvalidArgument, InvalidState

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig
    from sampan.engine.context import Context
    from sampan.engine.records import ContainerRecord

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")


def parse(spec: str) -> tuple[str, str]:
    """NAME[:ALIAS] -> (name, alias), as docker/cli's ParseLink (which also takes the
    "/name:/parent/alias" form inspect shows); the alias must be a container-like name."""
    if not isinstance(spec, str) or not spec:
        raise InvalidArgument("empty string specified for links")
    parts = spec.split(":")
    if len(parts) > 2:
        raise InvalidArgument(f"bad format for links: {spec[:80]!r}")
    if len(parts) == 1:
        name = alias = spec
    elif parts[0].startswith("/"):
        name, alias = parts[0][1:], parts[1].rpartition("/")[2]
    else:
        name, alias = parts
    name = name.lstrip("/")
    if not _NAME.match(alias) or not name:
        raise InvalidArgument(f"invalid link {spec[:80]!r}: the alias must be a name of [a-zA-Z0-9_.-] "
                              "starting with a letter or digit")
    return name, alias


def check(ctx: Context, specs: list[str], network: str) -> list[list[str]]:
    """The links of a new container: [[linked container id, alias], ...]. Docker's errors
    for an unknown container and for the network modes that cannot have links."""
    if not specs:
        return []
    parsed = [parse(s) for s in specs]
    if network == "host":
        raise InvalidArgument("conflicting options: host type networking can't be used with links. "
                              "This would result in undefined behavior")
    if network.startswith("container:"):
        raise InvalidArgument("conflicting options: container type network can't be used with links. "
                              "This would result in undefined behavior")
    out: dict[str, list[str]] = {}
    for name, alias in parsed:
        try:
            child = ctx.containers.find(name)
        except ContainerNotFound as e:
            raise InvalidArgument(f"could not get container for {name}: {e.message}") from None
        out[alias] = [child.id, alias]  # one container per alias: a later link replaces it
    return list(out.values())


class Target:
    """A link resolved at start: the linked container and its address on our network."""
    __slots__ = ("alias", "child", "ip", "legacy")

    def __init__(self, alias: str, child: ContainerRecord, ip: str, legacy: bool) -> None:
        self.alias, self.child, self.ip = alias, child, ip
        self.legacy = legacy  # on the default bridge: Docker's variables too


def all_pairs(config) -> list[tuple[str, str]]:
    """Every (linked container id, alias) of a container: run's --link and those of
    `network connect --link` (config net_links {network: pairs})."""
    pairs = [(cid, alias) for cid, alias in config.get("links") or []]
    for more in (config.get("net_links") or {}).values():
        pairs += [(cid, alias) for cid, alias in more]
    return pairs


def targets(ctx: Context, rec: ContainerRecord) -> list[Target]:
    """Each link's container, which must be running on the network the link was made on."""
    main = rec.config["network"]
    by_network = [(main, pair) for pair in rec.config.get("links") or []]
    for network, pairs in (rec.config.get("net_links") or {}).items():
        if network == main or network in (rec.config.get("more_networks") or {}):
            by_network += [(network, pair) for pair in pairs]
    return [target(ctx, rec, network, cid, alias) for network, (cid, alias) in by_network]


def target(ctx: Context, rec: ContainerRecord, network: str, cid: str, alias: str) -> Target:
    from sampan.engine.networking import nm
    from sampan.engine.status import status_of
    child = ctx.containers.get(cid)
    if child is None:
        raise InvalidState(f"could not get container for {alias}: the linked container was removed")
    if not status_of(child).running:
        raise InvalidState(f"Cannot link to a non running container: /{child.name} AS /{rec.name}/{alias}")
    ip = next((a.ip for a in nm(ctx).attachments(child.id) if a.network == network), "")
    if not ip:
        raise InvalidState(f"Cannot link to /{child.name}, as it does not belong to the network {network}")
    return Target(alias, child, ip, legacy=network == "bridge")


def connect_links(ctx: Context, rec: ContainerRecord, network: str, specs: list[str]) -> list[list[str]]:
    """`network connect --link`: links on a user network only (Docker's rule)."""
    if network == "bridge":
        raise InvalidArgument("links are only supported for user-defined networks")
    return check(ctx, specs, network)


def hosts_lines(found: list[Target]) -> str:
    """/etc/hosts lines as Docker's: "IP alias hostname name" (the name once)."""
    lines = []
    for t in found:
        names = [t.alias, t.child.config.get("hostname") or "", t.child.name]
        lines.append(f"{t.ip}\t{' '.join(n for n in dict.fromkeys(names) if n and _NAME.match(n))}\n")
    return "".join(lines)


def env(rec: ContainerRecord, found: list[Target]) -> list[str]:
    """The variables Docker gives a linking container, link by link (moby's links.ToEnv)."""
    from sampan.engine.views import exposed_ports
    out: list[str] = []
    for t in found:
        if not t.legacy:
            continue
        c = t.child.config
        ports = _sorted_ports(exposed_ports(c, c.get("image_config") or {}) or {})
        out += _link_env(f"/{rec.name}/{t.alias}", t.ip, ports, _child_env(c))
    return out


def _child_env(c: ContainerConfig) -> list[str]:
    merged: dict[str, str] = {}
    for item in list(c.get("image_env") or []) + list(c.get("user_env") or []):
        key, eq, _ = item.partition("=")
        if eq:
            merged[key] = item
    return list(merged.values())


def _sorted_ports(keys) -> list[tuple[int, str]]:
    ports = []
    for key in keys:
        num, _, proto = key.partition("/")
        if num.isdigit():
            ports.append((int(num), (proto or "tcp").lower()))
    # tcp first, then by protocol name, each by number (moby's withTCPPriority)
    return sorted(set(ports), key=lambda p: (p[1] != "tcp", p[1], p[0]))


def _link_env(name: str, ip: str, ports: list[tuple[int, str]], child_env: list[str]) -> list[str]:
    alias = name.rpartition("/")[2].upper().replace("-", "_")
    env = []
    start = end = None
    for i, (num, proto) in enumerate(ports):
        if i == 0:
            start = end = (num, proto)
            env.append(f"{alias}_PORT={proto}://{ip}:{num}")
        prefix = f"{alias}_PORT_{num}_{proto.upper()}"
        env += [f"{prefix}={proto}://{ip}:{num}", f"{prefix}_ADDR={ip}", f"{prefix}_PORT={num}",
                f"{prefix}_PROTO={proto}"]
        assert start is not None and end is not None
        if num == end[0] + 1 and proto == end[1]:
            end = (num, proto)
            if i < len(ports) - 1:
                continue
        if end != start:
            prefix = f"{alias}_PORT_{start[0]}_{start[1].upper()}"
            env += [f"{prefix}_START={start[1]}://{ip}:{start[0]}", f"{prefix}_PORT_START={start[0]}",
                    f"{prefix}_END={end[1]}://{ip}:{end[0]}", f"{prefix}_PORT_END={end[0]}"]
        start = end = (num, proto)
    env.append(f"{alias}_NAME={name}")
    for item in child_env:
        key, _, value = item.partition("=")
        if key not in ("HOME", "PATH"):
            env.append(f"{alias}_ENV_{key}={value}")
    return env


def _live_targets(ctx: Context, rec: ContainerRecord) -> list[Target]:
    """The links whose container runs now on the network they were made on (others left out)."""
    from sampan.errors import SampanError
    found = []
    for network, pairs in [(rec.config["network"], rec.config.get("links") or [])] + list(
            (rec.config.get("net_links") or {}).items()):
        for cid, alias in pairs:
            try:
                found.append(target(ctx, rec, network, cid, alias))
            except SampanError:
                pass
    return found


def exec_env(ctx: Context, rec: ContainerRecord, base: list[str]) -> list[str]:
    """An exec's environment with the link variables under its own, as at start."""
    own = {e.partition("=")[0] for e in base}
    return base + [e for e in env(rec, _live_targets(ctx, rec)) if e.partition("=")[0] not in own]


def refresh_running(ctx: Context, rec: ContainerRecord) -> None:
    """A running container's links changed (`network connect/disconnect`): its hosts lines
    (the links whose container still runs on that network) and its resolver aliases."""
    from sampan.engine.networking import nm
    found = _live_targets(ctx, rec)
    extra = "".join(f"{ip}\t{host}\n" for host, ip in rec.config.get("add_hosts", [])) + hosts_lines(found)
    from sampan.state.atomic import atomic_write_bytes
    atomic_write_bytes(ctx.container_files(rec.id)["hosts"].with_name("hosts.extra"), extra.encode(), durable=False)
    manager = nm(ctx)
    manager.set_link_aliases(rec.id, all_pairs(rec.config))
    manager.hosts.write(rec.id)
    for a in manager.attachments(rec.id):
        manager.names_changed(a.network)
