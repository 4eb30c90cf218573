"""`--security-opt seccomp=PATH`: the client reads the file where the user is (as
Docker's CLI does), so the engine, and `inspect`, hold the profile itself."""

from __future__ import annotations

from sampan.errors import InvalidArgument

_KEEP = ("unconfined", "builtin", "")


def inline_seccomp_files(security_opt: list[str]) -> list[str]:
    """Each `seccomp=PATH` as `seccomp=<the file's JSON, compacted>`; other options as given."""
    out = []
    for opt in security_opt:
        key, sep, value = opt.partition("=") if "=" in opt else opt.partition(":")
        if key == "seccomp" and sep and value not in _KEEP and not value.lstrip().startswith("{"):
            try:
                with open(value, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as e:
                why = getattr(e, "strerror", None) or str(e)
                raise InvalidArgument(f"cannot read seccomp profile {value}: {why}") from None
            import json
            try:
                text = json.dumps(json.loads(text), separators=(",", ":"))
            except ValueError as e:
                raise InvalidArgument(f"invalid seccomp profile {value}: not valid JSON ({e})") from None
            opt = "seccomp=" + text
        out.append(opt)
    return out
