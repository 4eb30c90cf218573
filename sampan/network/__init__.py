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

from sampan.network.manager import DEFAULT_NETWORK, NetworkManager
from sampan.network.ports import PortMapping, expose_all, parse_publish, parse_publish_all
from sampan.network.types import Attachment, NetworkInfo, Peer

__all__ = ["DEFAULT_NETWORK", "NetworkManager", "PortMapping", "parse_publish", "parse_publish_all",
           "expose_all", "Attachment", "NetworkInfo", "Peer"]
