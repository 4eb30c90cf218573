"""The detach sequence: Docker's key names, and bytes held back only while they may
still begin it."""

import pytest

from sampan.cli.detach_keys import DEFAULT, EscapeProxy, parse
from sampan.errors import InvalidArgument


def test_parse_docker_spellings():
    assert parse(None) == parse("") == DEFAULT == b"\x10\x11"
    assert parse("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse("ctrl-a,x") == b"\x01x"
    assert parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,DEL") == b"\x00\x1b\x1c\x1d\x1e\x1f\x7f"
    for bad in ("ctrl-", "ctrl-1", "alt-x", "ab", "ctrl-p,,ctrl-q", "é"):
        with pytest.raises(InvalidArgument, match="invalid detach keys"):
            parse(bad)


@pytest.mark.parametrize("chunks, sent, detached", [
    ([b"ls\r"], b"ls\r", False),
    ([b"a\x10\x11b"], b"a", True),                 # what follows the sequence is never sent
    ([b"a\x10", b"\x11"], b"a", True),             # the sequence split across reads
    ([b"\x10x"], b"\x10x", False),                 # broken: the held byte goes with the next
    ([b"\x10", b"\x10\x11"], b"\x10", True),       # a repeated first key: the first is data
    ([b"\x10"], b"", False),                       # held while it may still be the sequence
])
def test_escape_proxy(chunks, sent, detached):
    proxy = EscapeProxy(DEFAULT)
    out, done = b"", False
    for c in chunks:
        got, done = proxy.feed(c)
        out += got
        if done:
            break
    assert (out, done) == (sent, detached)
