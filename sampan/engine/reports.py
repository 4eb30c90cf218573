"""What the engine hands back: typed reports, never display strings.

The CLI turns them into tables and lines; the API server (issue 10) into Docker's
JSON, through each report's ``to_docker()`` (field names as moby's api/swagger.yaml).
Verbs on many objects (`rm a b c`) return one report per object, each with its own
``error``, so a front end does what it can and names what it could not (Podman's way).

Dataclasses are fine here: no module on `run`'s path imports this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sampan.errors import SampanError
from sampan.oci.times import parse_time


@dataclass
class RemoveReport:
    """One object of a multi-object remove: ``ref`` as the caller named it, the ``id`` and
    ``name`` of what went, or ``error`` (the typed SampanError) when it could not."""
    ref: str
    id: str = ""
    name: str = ""
    error: SampanError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ImageRemoveReport:
    """`rmi REF`: the tags taken off, then the ids deleted (image id, then unpacked layers'
    chain ids), in that order. Only ``untagged`` when other tags or containers keep it."""
    ref: str = ""
    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    error: SampanError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_docker(self) -> list[dict]:
        """Docker's ImageDeleteResponseItem list."""
        return [{"Untagged": t} for t in self.untagged] + [{"Deleted": d} for d in self.deleted]


@dataclass
class PruneReport:
    """Containers, volumes or networks pruned: ids (containers) or names."""
    deleted: list[str] = field(default_factory=list)
    space_reclaimed: int = 0


@dataclass
class ImagePruneReport:
    images: list[ImageRemoveReport] = field(default_factory=list)
    space_reclaimed: int = 0

    def to_docker(self) -> dict:
        return {"ImagesDeleted": [i for r in self.images for i in r.to_docker()] or None,
                "SpaceReclaimed": self.space_reclaimed}


@dataclass
class SystemPruneReport:
    containers: PruneReport
    network_leftovers: list[str]   # containers whose crashed sandboxes were released
    volumes: PruneReport | None    # None: volumes were not asked for
    images: ImagePruneReport
    networks: PruneReport | None = None  # custom networks no container uses
    build_cache: PruneReport | None = None  # cached build steps and cache mounts (their ids)

    @property
    def space_reclaimed(self) -> int:
        return sum(r.space_reclaimed for r in (self.containers, self.volumes, self.images, self.networks,
                                               self.build_cache) if r is not None)


@dataclass
class PortReport:
    """A published port (Docker's Port)."""
    private_port: int
    public_port: int
    ip: str
    type: str

    def to_docker(self) -> dict:
        if not self.public_port:  # exposed, not published: Docker omits the host side
            return {"PrivatePort": self.private_port, "Type": self.type}
        return {"IP": self.ip, "PrivatePort": self.private_port, "PublicPort": self.public_port,
                "Type": self.type}


@dataclass
class ContainerSummary:
    """One row of `ps` (Docker's ContainerSummary). ``status`` is Docker's human text
    ("Up 3 minutes", "Exited (0) 2 seconds ago"), which the API carries too."""
    id: str
    name: str
    image: str
    image_id: str
    command: str
    created: str                   # RFC 3339
    state: str                     # created, running, exited
    status: str
    exit_code: int | None
    ports: list[PortReport] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    network: str = ""              # the network mode: bridge, a network's name, none, host, ...
    networks: dict[str, dict] = field(default_factory=dict)   # Docker's EndpointSettings by network
    mounts: list[dict] = field(default_factory=list)          # Docker's MountPoint list
    size_rw: int | None = None         # bytes in its writable layer (only when sizes were asked for)
    size_root_fs: int | None = None    # and with its image's: the "virtual" size

    def to_docker(self) -> dict:
        out = {"Id": self.id, "Names": ["/" + self.name], "Image": self.image,
               "ImageID": self.image_id, "Command": self.command,
               "Created": int(parse_time(self.created)), "Ports": [p.to_docker() for p in self.ports],
               "Labels": self.labels, "State": self.state, "Status": self.status,
               "HostConfig": {"NetworkMode": self.network},
               "NetworkSettings": {"Networks": self.networks}, "Mounts": self.mounts}
        if self.size_rw is not None:
            out["SizeRw"], out["SizeRootFs"] = self.size_rw, self.size_root_fs
        return out


@dataclass
class ImageSummary:
    """One image of `images` (Docker's ImageSummary)."""
    id: str
    repo_tags: list[str]           # familiar form: "busybox:latest"
    repo_digests: list[str]
    created: str                   # RFC 3339
    size: int
    labels: dict[str, str]
    containers: int                # how many containers use it
    shared_size: int = -1          # bytes of its layers other images use too (-1: not asked for)

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[-1][:12]

    def to_docker(self) -> dict:
        return {"Id": self.id, "ParentId": "", "RepoTags": self.repo_tags,
                "RepoDigests": self.repo_digests, "Created": int(parse_time(self.created)),
                "Size": self.size, "SharedSize": self.shared_size, "VirtualSize": self.size,
                "Labels": self.labels or None, "Containers": self.containers}


@dataclass
class ImageHistoryItem:
    """One step of `history`, newest first (Docker's HistoryResponseItem). ``id`` is
    "<missing>" for steps that are not images of their own."""
    id: str
    created: str
    created_by: str
    size: int
    comment: str
    tags: list[str]

    def to_docker(self) -> dict:
        return {"Id": self.id, "Created": int(parse_time(self.created)), "CreatedBy": self.created_by,
                "Tags": self.tags or None, "Size": self.size, "Comment": self.comment}


@dataclass
class VolumeReport:
    """A volume (Docker's Volume)."""
    name: str
    driver: str
    mountpoint: str
    created: str
    labels: dict[str, str]
    anonymous: bool
    scope: str = "local"

    def to_docker(self) -> dict:
        return {"CreatedAt": self.created, "Driver": self.driver, "Labels": self.labels or None,
                "Mountpoint": self.mountpoint, "Name": self.name, "Options": None, "Scope": self.scope}


@dataclass
class NetworkEndpoint:
    """A container on a network (Docker's EndpointResource)."""
    container_id: str
    name: str
    ipv4_address: str              # CIDR form, "10.88.0.2/16"
    mac_address: str

    def to_docker(self) -> dict:
        return {"Name": self.name, "EndpointID": "", "MacAddress": self.mac_address,
                "IPv4Address": self.ipv4_address, "IPv6Address": ""}


@dataclass
class NetworkReport:
    """A network (Docker's Network). ``containers`` is filled by inspect only."""
    id: str
    name: str
    driver: str
    subnet: str
    gateway: str
    internal: bool
    labels: dict[str, str]
    created: str = ""
    bridge: str = ""
    containers: list[NetworkEndpoint] | None = None
    scope: str = "local"

    def to_docker(self) -> dict:
        return {"Name": self.name, "Id": self.id, "Created": self.created, "Scope": self.scope,
                "Driver": self.driver, "EnableIPv6": False,
                "IPAM": {"Driver": "default", "Options": None,
                         "Config": [{"Subnet": self.subnet, "Gateway": self.gateway}]},
                "Internal": self.internal, "Attachable": False, "Ingress": False,
                "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
                "Containers": {e.container_id: e.to_docker() for e in self.containers or []},
                # a user network's Options are the driver options it was created with (none):
                # compose compares them with its file's and recreates the network on a change
                "Options": {"com.docker.network.bridge.name": self.bridge}
                if self.bridge and self.name == "bridge" else {},
                "Labels": self.labels}


@dataclass
class UsageSummary:
    total: int
    active: int
    size: int
    reclaimable: int


@dataclass
class DiskUsageReport:
    """`system df`."""
    images: UsageSummary
    containers: UsageSummary
    volumes: UsageSummary


@dataclass
class CheckReport:
    """`system check`: read-only findings (store.verify.CheckFinding: kind "problem" or "note",
    message) about the state under ``root``."""
    root: str
    findings: list = field(default_factory=list)
    cgroups: str = ""   # the host's hierarchy, as containers will get it: "v2 (unified); controllers: ..."

    @property
    def problems(self) -> int:
        return sum(1 for f in self.findings if f.kind == "problem")


@dataclass
class DoctorReport:
    """`doctor`: one finding per host feature (engine.doctor.Finding: name, status ok|warn|
    missing, detail, fix, needed); ``can_run``: no needed feature is missing."""
    findings: list = field(default_factory=list)
    can_run: bool = True


@dataclass
class LayerNode:
    """One layer of `image tree`: the layers below it are its ancestors in the tree, so a
    node shared by several images appears once. ``images``: the images whose top layer it is."""
    diff_id: str
    size: int                      # uncompressed bytes (the blob's when unknown)
    created_by: str                # the instruction that made it, from the image's history
    users: int                     # how many of the shown images stand on it
    images: list[str] = field(default_factory=list)
    children: list = field(default_factory=list)


@dataclass
class ImageTreeReport:
    """`image tree`: roots of the layer tree; ``stored``: bytes of the distinct layers,
    ``unshared``: what the images would take if none shared a layer."""
    roots: list = field(default_factory=list)
    stored: int = 0
    unshared: int = 0
    images: int = 0


@dataclass
class ProgressEvent:
    """One step of a pull or push, for a front end to show its own way (the API server
    sends Docker's JSON messages). ``id``: the layer (12 hex) or a tag, "" for a whole-image
    line; ``status``: what happened ("Downloading", "Pull complete", "Digest: sha256:...");
    ``current``/``total``: bytes so far and expected, while data moves."""
    status: str
    id: str = ""
    current: int | None = None
    total: int | None = None


@dataclass
class BuildEvent:
    """One moment of a build, for a front end to show its own way (the API server: Docker's
    {"stream": ...} lines). ``kind``: "step" (``text`` its title, "[2/3] RUN make"),
    "output" (a line a step printed), "note" (what a step did), "cached", "done"
    (``seconds`` it took), "error" (``text`` why), "message" (a block: warnings, a failed
    step's last output). ``step`` numbers the steps in the order they started."""
    kind: str
    step: int = 0
    text: str = ""
    seconds: float = 0.0


@dataclass
class SearchResult:
    """One repository `search` found: as the registry described it (registry/search.py
    checked it), or a name from its catalog (no description, no stars)."""
    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False

    def to_docker(self) -> dict:
        return {"name": self.name, "description": self.description, "star_count": self.star_count,
                "is_official": self.is_official, "is_automated": False}


@dataclass
class ManifestReport:
    """`manifest inspect`: a manifest as the registry holds it (``raw``, its bytes), the platform
    Docker shows for it, and for an index each manifest it lists (``children``; else None)."""
    ref: str
    media_type: str
    digest: str
    size: int
    raw: bytes
    platform: dict | None = None
    children: list["ManifestReport"] | None = None
