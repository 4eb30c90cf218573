"""The detach sequence of an attached terminal (Ctrl-P Ctrl-Q unless --detach-keys).

Docker's spelling: comma-separated keys, each one character or `ctrl-@`, `ctrl-a`
... `ctrl-z`, `ctrl-[`, `ctrl-\\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, or `DEL`. Bytes
that begin the sequence are held back until it is complete (then the session
detaches and they are never sent) or broken (then they go to the container,
with what broke it), so a lone Ctrl-P still reaches the program.
"""

from __future__ import annotations

from sampan.errors import InvalidArgument

DEFAULT = b"\x10\x11"  # ctrl-p, ctrl-q
_CTRL = ["ctrl-@", *(f"ctrl-{chr(c)}" for c in range(ord("a"), ord("z") + 1)),
         "ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_"]


def parse(keys: str | None) -> bytes:
    if not keys:
        return DEFAULT
    out = bytearray()
    for key in keys.split(","):
        if len(key) == 1 and ord(key) < 128:
            out.append(ord(key))
        elif key in _CTRL:
            out.append(_CTRL.index(key))
        elif key == "DEL":
            out.append(127)
        else:
            raise InvalidArgument(f"invalid detach keys ({keys}): Unknown character: '{key}'")
    return bytes(out)


class EscapeProxy:
    """Watches what the user types for the detach sequence."""

    def __init__(self, sequence: bytes) -> None:
        self.sequence = sequence
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to send on, whether the sequence is complete)."""
        out = bytearray()
        for b in data:
            nxt = self.held + bytes([b])
            if self.sequence.startswith(nxt):
                if nxt == self.sequence:
                    self.held = b""
                    return bytes(out), True
                self.held = nxt
            else:  # broken: what was held is data; this byte may begin the sequence anew
                out += self.held
                self.held = b""
                if self.sequence.startswith(bytes([b])):
                    if len(self.sequence) == 1:
                        return bytes(out), True
                    self.held = bytes([b])
                else:
                    out.append(b)
        return bytes(out), False
