"""What each command's --format template sees: the docker CLI's formatter contexts
(cli/command/formatter/*.go and friends), with Docker's field names, its display strings,
and the column headers a `table` format prints. Imported only when --format is given."""

from __future__ import annotations

import time

from sampan.cli.gotemplate import GoStruct
from sampan.cli.output import human_size
from sampan.oci.times import ago, parse_time


def truncate_id(ident: str) -> str:
    """Docker's TruncateID: without its algorithm, 12 characters."""
    return ident.split(":", 1)[-1][:12]


def ellipsis(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n - 1] + "…"


def go_time(rfc: str) -> str:
    """Go's time.Unix(t, 0).String() in local time: 2024-05-01 12:00:00 +0200 CEST."""
    t = parse_time(rfc)
    lt = time.localtime(int(t))
    return time.strftime("%Y-%m-%d %H:%M:%S %z ", lt) + (lt.tm_zone or "")


def _labels(labels: dict | None) -> str:
    return ",".join(sorted(f"{k}={v}" for k, v in (labels or {}).items()))


class _Labelled(GoStruct):
    METHODS = ("Label",)
    labels: dict

    def Label(self, name: str) -> str:  # noqa: N802 (Go's name)
        return (self.labels or {}).get(name, "")

    def Labels(self) -> str:  # noqa: N802
        return _labels(self.labels)


def _join_host_port(ip: str, port: str) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _ip_key(ip: str):
    import ipaddress
    try:
        a = ipaddress.ip_address(ip)
        return (a.version, a.packed)
    except ValueError:
        return (0, ip.encode())


def _ports(ports) -> str:
    """Docker's DisplayablePorts: consecutive ports in ranges (80-81/tcp), a port published on
    the same number as `ip:80->80/tcp`, the others `ip:8080->80/tcp` last."""
    rows = sorted(((p.private_port, p.ip if p.public_port else "", p.public_port, p.type) for p in ports),
                  key=lambda r: (r[0], _ip_key(r[1]) if r[1] else (-1, b""), r[2], r[3]))
    groups: dict[str, list[int]] = {}
    result, mappings = [], []

    def form(key: str, first: int, last: int) -> str:
        ip, _, kind = key.rpartition("/")
        group = str(first) if first == last else f"{first}-{last}"
        if ip:
            group = f"{_join_host_port(ip, group)}->{group}"
        return f"{group}/{kind}"

    for private, ip, public, kind in rows:
        key = kind
        if ip:
            if public != private:
                mappings.append(f"{_join_host_port(ip, str(public))}->{private}/{kind}")
                continue
            key = f"{ip}/{kind}"
        g = groups.get(key)
        if g is None:
            groups[key] = [private, private]
        elif private == g[1] + 1:
            g[1] = private
        else:
            result.append(form(key, *g))
            groups[key] = [private, private]
    result += [form(k, *g) for k, g in groups.items()] + mappings
    return ", ".join(result)


class ContainerContext(_Labelled):
    GO_TYPE = "*formatter.ContainerContext"
    FIELDS = ("ID", "Names", "Image", "Command", "CreatedAt", "RunningFor", "Ports", "State", "Status", "Size",
              "Labels", "Mounts", "LocalVolumes", "Networks", "HealthStatus")
    HEADER = {"ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
              "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
              "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS",
              "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
              "HealthStatus": "HEALTH STATUS"}
    DEFAULT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

    def __init__(self, s, trunc: bool = True):
        self.s, self.trunc, self.labels = s, trunc, s.labels

    def ID(self):  # noqa: N802
        return truncate_id(self.s.id) if self.trunc else self.s.id

    def Names(self):  # noqa: N802
        return self.s.name

    def Image(self):  # noqa: N802
        return self.s.image or "<no image>"

    def Command(self):  # noqa: N802
        from sampan.cli.gotemplate.gofmt import go_quote
        return go_quote(ellipsis(self.s.command, 20) if self.trunc else self.s.command)

    def CreatedAt(self):  # noqa: N802
        return go_time(self.s.created)

    def RunningFor(self):  # noqa: N802
        return ago(self.s.created)

    def Ports(self):  # noqa: N802
        return _ports(self.s.ports)

    def State(self):  # noqa: N802
        return self.s.state

    def Status(self):  # noqa: N802
        return self.s.status

    def Size(self):  # noqa: N802
        rw, root = getattr(self.s, "size_rw", 0) or 0, getattr(self.s, "size_root_fs", 0) or 0
        text = human_size(rw, 3)
        return f"{text} (virtual {human_size(root, 3)})" if root > 0 else text

    def Mounts(self):  # noqa: N802
        names = [m.get("Name") or m.get("Source", "") for m in self.s.mounts]
        return ",".join(ellipsis(n, 15) if self.trunc else n for n in names)

    def LocalVolumes(self):  # noqa: N802
        return str(sum(1 for m in self.s.mounts if m.get("Driver") == "local"))

    def Networks(self):  # noqa: N802
        return ",".join(self.s.networks)

    def HealthStatus(self):  # noqa: N802
        _, _, health = self.s.status.partition("(")
        health = health[:-1].removeprefix("health: ") if health.endswith(")") else ""
        return health if health in ("healthy", "unhealthy", "starting") else ""


class ImageContext(GoStruct):
    GO_TYPE = "*formatter.imageContext"
    FIELDS = ("ID", "Repository", "Tag", "Digest", "CreatedSince", "CreatedAt", "Size", "Containers",
              "SharedSize", "UniqueSize")
    HEADER = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
              "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
              "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}
    DEFAULT = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}"
               "\t{{.Size}}")

    def __init__(self, img, repo: str, tag: str, digest: str = "<none>", trunc: bool = True):
        self.img, self.repo, self.tag, self.digest, self.trunc = img, repo, tag, digest, trunc

    def ID(self):  # noqa: N802
        return truncate_id(self.img.id) if self.trunc else self.img.id

    def Repository(self):  # noqa: N802
        return self.repo

    def Tag(self):  # noqa: N802
        return self.tag

    def Digest(self):  # noqa: N802
        return self.digest

    def CreatedSince(self):  # noqa: N802
        return ago(self.img.created) if parse_time(self.img.created) else ""

    def CreatedAt(self):  # noqa: N802
        return go_time(self.img.created)

    def Size(self):  # noqa: N802
        return human_size(self.img.size, 3)

    def Containers(self):  # noqa: N802
        return "N/A" if self.img.containers < 0 else str(self.img.containers)

    def SharedSize(self):  # noqa: N802
        return "N/A"

    def UniqueSize(self):  # noqa: N802
        return "N/A"


class VolumeContext(_Labelled):
    GO_TYPE = "*formatter.volumeContext"
    FIELDS = ("Name", "Driver", "Scope", "Mountpoint", "Labels", "Links", "Size", "Group", "Availability",
              "Status")
    HEADER = {"ID": "ID", "Name": "VOLUME NAME", "Group": "GROUP", "Driver": "DRIVER", "Scope": "SCOPE",
              "Availability": "AVAILABILITY", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS",
              "Size": "SIZE", "Status": "STATUS"}
    DEFAULT = "table {{.Driver}}\t{{.Name}}"

    def __init__(self, v):
        self.v, self.labels = v, v.labels
        self.Name, self.Driver, self.Scope, self.Mountpoint = v.name, v.driver, v.scope, v.mountpoint
        self.Links = self.Size = self.Group = self.Availability = self.Status = "N/A"


class NetworkContext(_Labelled):
    GO_TYPE = "*network.networkContext"
    FIELDS = ("ID", "Name", "Driver", "Scope", "IPv4", "IPv6", "Internal", "Labels", "CreatedAt")
    HEADER = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
              "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
    DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

    def __init__(self, n, trunc: bool = True):
        self.n, self.labels = n, n.labels
        self.ID = truncate_id(n.id) if trunc else n.id
        self.Name, self.Driver, self.Scope = n.name, n.driver, n.scope
        self.IPv4, self.IPv6, self.Internal = "true", "false", "true" if n.internal else "false"
        self.CreatedAt = go_time(n.created) if n.created else "0001-01-01 00:00:00 +0000 UTC"


def escape_controls(s: str) -> str:
    """A registry's text shown safely: control characters (terminal escapes) as \\xNN."""
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" if ord(c) < 256
                   else f"\\u{ord(c):04x}" for c in s)


class SearchContext(GoStruct):
    GO_TYPE = "*registry.searchContext"
    FIELDS = ("Name", "Description", "StarCount", "IsOfficial")
    HEADER = {"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS", "IsOfficial": "OFFICIAL"}
    DEFAULT = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"

    def __init__(self, r, trunc: bool = True):
        self.r, self.trunc = r, trunc

    def Name(self):  # noqa: N802
        return escape_controls(self.r.name)

    def Description(self):  # noqa: N802
        desc = self.r.description.replace("\n", " ").replace("\r", " ")
        desc = escape_controls(desc)
        return ellipsis(desc, 45) if self.trunc else desc

    def StarCount(self):  # noqa: N802
        return str(self.r.star_count)

    def IsOfficial(self):  # noqa: N802
        return "[OK]" if self.r.is_official else ""

    def go_json_value(self):  # Docker's JSON says "true"/"false" where the table says [OK]
        return {**self.go_fields(), "IsOfficial": "true" if self.r.is_official else "false"}


class HistoryContext(GoStruct):
    GO_TYPE = "*image.historyContext"
    FIELDS = ("ID", "CreatedSince", "CreatedAt", "CreatedBy", "Size", "Comment")
    HEADER = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
              "Size": "SIZE", "Comment": "COMMENT"}
    DEFAULT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

    def __init__(self, h, trunc: bool = True, human: bool = True):
        self.h, self.trunc, self.human = h, trunc, human

    def ID(self):  # noqa: N802
        return truncate_id(self.h.id) if self.trunc and self.h.id.startswith("sha256:") else self.h.id

    def CreatedAt(self):  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(parse_time(self.h.created)))

    def CreatedSince(self):  # noqa: N802
        if not self.human:
            return self.CreatedAt()
        return ago(self.h.created)

    def CreatedBy(self):  # noqa: N802
        by = self.h.created_by.replace("\t", " ")
        return ellipsis(by, 45) if self.trunc else by

    def Size(self):  # noqa: N802
        return human_size(self.h.size, 3) if self.human else str(self.h.size)

    def Comment(self):  # noqa: N802
        return self.h.comment


class StatsContext(GoStruct):
    GO_TYPE = "*container.statsContext"
    FIELDS = ("Container", "Name", "ID", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs")
    HEADER = {"Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
              "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
              "PIDs": "PIDS"}
    DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

    def __init__(self, row: dict):
        self.__dict__.update(row)


class DiskUsageContext(GoStruct):
    GO_TYPE = "*formatter.diskUsageImagesContext"
    FIELDS = ("Type", "TotalCount", "Active", "Size", "Reclaimable")
    HEADER = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
              "Reclaimable": "RECLAIMABLE"}
    DEFAULT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

    def __init__(self, kind: str, u):
        self.GO_TYPE = f"*formatter.diskUsage{kind.split()[-1]}Context"
        self.Type, self.TotalCount, self.Active = kind, str(u.total), str(u.active)
        self.Size = human_size(u.size)
        pct = f" ({u.reclaimable * 100 // u.size}%)" if u.size > 0 else ""
        self.Reclaimable = human_size(u.reclaimable) + pct


class EventContext(GoStruct):
    """events.Message: a plain struct (no MarshalJSON), so `json .` is the event as the API sends it."""
    GO_TYPE = "events.Message"
    FIELDS = ("Status", "ID", "From", "Type", "Action", "Actor", "Scope", "Time", "TimeNano")
    JSON_ESCAPE_HTML = JSON_SORTED = False

    def __init__(self, ev: dict):
        self.ev = ev
        actor = ev.get("Actor") or {}
        self.Status, self.ID, self.From = ev.get("status", ""), ev.get("id", ""), ev.get("from", "")
        self.Type, self.Action = ev.get("Type", ""), ev.get("Action", "")
        self.Actor = Plain("events.Actor", {"ID": actor.get("ID", ""), "Attributes": actor.get("Attributes") or {}})
        self.Scope, self.Time, self.TimeNano = ev.get("scope", "local"), ev.get("time", 0), ev.get("timeNano", 0)

    def go_json_value(self):
        return {**self.ev, "Actor": self.Actor} if "Actor" in self.ev else self.ev


class Plain(GoStruct):
    """A Go struct given as its fields (version's, info's): JSON is its fields as named."""
    JSON_ESCAPE_HTML = JSON_SORTED = False

    def __init__(self, go_type: str, fields: dict, json_value=None):
        self.GO_TYPE = go_type
        self.FIELDS = tuple(fields)
        self.__dict__.update(fields)
        self._json = json_value

    def go_json_value(self):
        return self._json if self._json is not None else self.go_fields()


def info_struct(info: dict) -> Plain:
    """`info --format`: Docker's dockerInfo (system.Info's fields, and ClientInfo)."""
    from sampan import __version__
    client = Plain("*info.clientInfo", {"Debug": False, "Context": "default", "Plugins": [], "Warnings": None,
                                        "Version": __version__})
    fields = {**info, "ClientInfo": client, "ClientErrors": None}
    return Plain("info.dockerInfo", fields)


def version_struct(version: str) -> Plain:
    """`version --format`: Docker's versionInfo; sampan is its own client and server."""
    import platform
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    common = {"GoVersion": f"python{platform.python_version()}", "Os": "linux", "Arch": arch}
    client = {"Platform": Plain("*system.platformInfo", {"Name": "sampan"}), "Version": version,
              "APIVersion": "1.50", "DefaultAPIVersion": "1.50", "GitCommit": "", **common, "BuildTime": "",
              "Context": "default"}
    server = {"Platform": Plain("system.PlatformInfo", {"Name": "sampan"}), "Version": version,
              "APIVersion": "1.50", "MinAPIVersion": "1.24", **common, "Components": [], "GitCommit": "",
              "KernelVersion": platform.release(), "Experimental": False, "BuildTime": ""}

    def as_json(d: dict) -> dict:  # Go's json tags: ApiVersion, and omitempty fields dropped
        out = {}
        for k, v in d.items():
            key = "ApiVersion" if k == "APIVersion" else k
            if v in ("", [], False) and k not in ("Context", "Version", "APIVersion", "Os", "Arch"):
                continue
            out[key] = v.go_json_value() if isinstance(v, Plain) else v
        return out

    return Plain("system.versionInfo", {
        "Client": Plain("system.clientVersion", client, as_json(client)),
        "Server": Plain("*system.serverVersion", server, as_json(server))})

