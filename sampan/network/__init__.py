"""Container networking: CNI bridge networks, network namespaces, published ports, DNS files.

Cheap to import (no plugin is run, nothing is created at import time); the
engine builds one NetworkManager per command.
"""

from sampan.network.manager import DEFAULT_NETWORK, NetworkManager
from sampan.network.ports import PortMapping, expose_all, parse_publish, parse_publish_all
from sampan.network.types import Attachment, NetworkInfo, Peer

__all__ = ["DEFAULT_NETWORK", "NetworkManager", "PortMapping", "parse_publish", "parse_publish_all",
           "expose_all", "Attachment", "NetworkInfo", "Peer"]
