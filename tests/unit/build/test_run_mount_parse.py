"""RUN --mount values (BuildKit's syntax) and `build --secret`, parsed without running anything."""

import pytest

from sampan.build.instructions.mounts import MountError, parse_mount
from sampan.build.run_mounts import MAX_SECRET, parse_secret_flag


def test_defaults_as_buildkit():
    m = parse_mount("type=cache,target=/root/.cache")
    assert (m.kind, m.id, m.sharing, m.readonly) == ("cache", "/root/.cache", "shared", False)
    s = parse_mount("type=secret,id=tok")
    assert (s.target, s.required) == ("/run/secrets/tok", False)
    assert parse_mount("type=secret,target=/etc/key,required").id == "key"
    b = parse_mount("target=/src")  # type defaults to bind, read-only
    assert (b.kind, b.readonly, b.source) == ("bind", True, None)
    assert parse_mount("target=/src,rw").readonly is False
    assert parse_mount("type=bind,dst=x/../y,src=a").target == "/y"
    assert parse_mount('"target=/a,b",type=tmpfs').target == "/a,b"  # CSV quoting


def test_variables_are_kept_for_the_step():
    m = parse_mount("type=cache,target=$HOME/.cache,mode=$M")
    assert m.target == "$HOME/.cache"
    e = m.expanded(lambda t: t.replace("$HOME", "/root").replace("$M", "0700"))
    assert (e.target, e.mode, e.id) == ("/root/.cache", "0700", "/root/.cache")
    with pytest.raises(MountError):
        m.expanded(lambda t: t.replace("$HOME", "/root").replace("$M", "999"))


@pytest.mark.parametrize("text", ["type=cache", "type=secret", "type=nope,target=/a", "type=bind,target=/",
                                  "type=cache,target=/a,uid=-1", "type=cache,target=/a,from=x",
                                  "type=secret,id=a,rw=maybe", "type=tmpfs,target=/a,size=0",
                                  "type=bind,target=/a\0b"])
def test_refused(text):
    with pytest.raises(MountError):
        parse_mount(text)


def test_secret_flag(tmp_path):
    f = tmp_path / "s"
    f.write_bytes(b"value")
    assert parse_secret_flag(f"id=a,src={f}", {}) == ("a", b"value")
    assert parse_secret_flag("id=b,env=TOKEN", {"TOKEN": "t"}) == ("b", b"t")
    with pytest.raises(ValueError, match="not set"):
        parse_secret_flag("id=b,env=NOPE", {})
    big = tmp_path / "big"
    big.write_bytes(b"x" * (MAX_SECRET + 1))
    with pytest.raises(ValueError, match="larger"):
        parse_secret_flag(f"id=c,src={big}", {})
    with pytest.raises(ValueError, match="not a regular file"):
        parse_secret_flag("id=d,src=/dev/zero", {})
    with pytest.raises(ValueError, match="cannot read"):
        parse_secret_flag(f"id=e,src={tmp_path}/missing", {})
