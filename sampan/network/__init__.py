"""Container networking: CNI bridge networks, network namespaces, published ports, DNS files.

Cheap to import (no plugin is run, nothing is created at import time); the
engine builds one NetworkManager per command. How `run` uses it:

    nm = NetworkManager(paths, db)
    maps = nm.check_ports(parse_publish_all(opts.publish) + expose_all(...) if -P,
                          owner_lookup=lambda cid: name_of(cid))   # Conflict (125) names the holder
    socks = nm.reserve_ports(maps, inheritable=True)   # the monitor keeps these open
    netns, att = nm.setup(cid, network, maps, aliases, hostname, hosts_path=bundle/"hosts")
    #   -> point the OCI spec's network namespace path at `netns`; att.ip/att.gateway/...
    write bundle/"resolv.conf" = nm.resolv_conf()        # hosts_path is written by setup
    ... container runs ...
    nm.release(cid, netns, background=True, replenish=True)   # returns in ~1 ms
    close socks

`setup` claims a sandbox made ahead of time when one is waiting (release with
replenish=True prepares the next one in the background process), else it does
create_netns + attach. The lower-level create_netns/attach/detach/remove_netns
are there for `network connect/disconnect` and for callers that need them.
/etc/hosts files given as hosts_path are rewritten in place (they are bind
mounts) whenever a peer on a user network comes or goes.
"""

# Names resolve lazily (PEP 562): `from sampan.network import parse_publish_all` loads only
# ports.py, so `run --network none` never imports the manager, CNI or netns code.
_WHERE = {"DEFAULT_NETWORK": "manager", "NetworkManager": "manager",
          "PortMapping": "ports", "parse_publish": "ports", "parse_publish_all": "ports",
          "expose_all": "ports", "Attachment": "types", "NetworkInfo": "types", "Peer": "types"}

__all__ = list(_WHERE)


def __getattr__(name: str):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'sampan.network' has no attribute {name!r}")
    module = __import__(f"sampan.network.{where}", fromlist=[name])
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
