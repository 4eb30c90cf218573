"""`--filter` for the prunes (container, image, network, volume, builder, system): moby's
rules, shared by the CLI's `-f key=value` list and the API's `filters` map.

- ``until=T`` (one at most: "more than one until filter specified"): only what was
  created before T; T is Docker's time (a Unix time, an RFC 3339 time or date, or a Go
  duration before now: `24h`, `10m`).
- ``label=KEY`` / ``label=KEY=VALUE``: every one given must match.
- ``label!=...``: the object is kept when every one given matches (moby's MatchKVList).
- Each prune accepts its own keys (moby: volumes take ``all=`` and not ``until=``);
  another key is moby's "invalid filter 'KEY'".
"""

from __future__ import annotations

from sampan.engine import filters as flt
from sampan.errors import InvalidArgument

CONTAINER = ("label", "label!", "until")
IMAGE = ("dangling", "label", "label!", "until")
NETWORK = ("label", "label!", "until")
VOLUME = ("label", "label!", "all")
BUILDER = ("until", "label", "label!")  # labels: build cache entries have none; they only narrow


class PruneFilter:
    """The parsed filters of one prune; ``match(labels, created)`` says whether an object goes."""

    def __init__(self, spec, allowed: tuple[str, ...], what: str) -> None:
        self.want = flt.parse(spec, allowed, what)
        untils = self.want.get("until", [])
        if len(untils) > 1:
            raise InvalidArgument("more than one until filter specified")
        self.until: float | None = None
        if untils:
            from sampan.engine.events_read import parse_timestamp
            self.until = parse_timestamp(untils[0])

    def boolean(self, key: str) -> bool | None:
        return flt.boolean(self.want, key)

    def match(self, labels: dict[str, str] | None, created: float | None = None) -> bool:
        if self.until is not None and created is not None and created > self.until:
            return False
        if "label" in self.want and not flt.labels_match(labels, self.want["label"]):
            return False
        if "label!" in self.want and flt.labels_match(labels, self.want["label!"]):
            return False
        return True

    def __bool__(self) -> bool:
        return bool(self.want)
