import os
import stat

import pytest

from sampan.errors import CommandNotExecutable, CommandNotFound, InvalidArgument, RuntimeFailure
from sampan.errors import CommandNotFound as CNF
from sampan.runtime import caps, channel
from sampan.runtime.process import env_dict, lookup_command
from sampan.runtime.syscalls import (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP,
                                     PR_SET_KEEPCAPS, RecordingSyscalls)


def make_exe(path, mode=0o755):
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_lookup_searches_path_in_order(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    make_exe(b / "tool")
    make_exe(a / "other")
    assert lookup_command("tool", {"PATH": f"{a}:{b}"}) == str(b / "tool")


def test_lookup_not_found_message_matches_docker(tmp_path):
    with pytest.raises(CommandNotFound) as e:
        lookup_command("foo", {"PATH": str(tmp_path)})
    assert str(e.value) == 'exec: "foo": executable file not found in $PATH'
    assert e.value.exit_code == 127


def test_lookup_explicit_paths(tmp_path):
    make_exe(tmp_path / "noexec", 0o644)
    with pytest.raises(CommandNotExecutable) as e:
        lookup_command(str(tmp_path / "noexec"), {})
    assert e.value.exit_code == 126
    with pytest.raises(CommandNotExecutable):
        lookup_command(str(tmp_path), {})  # a directory
    with pytest.raises(CommandNotFound):
        lookup_command(str(tmp_path / "absent"), {})
    assert lookup_command(str(make_exe(tmp_path / "ok")), {}) == str(tmp_path / "ok")


def test_env_dict_keeps_equals_in_values():
    assert env_dict(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}


def test_capability_masks():
    assert caps.mask(["CAP_CHOWN", "CAP_KILL"]) == (1 << 0) | (1 << 5)
    assert caps.mask(["net_admin"]) == 1 << 12
    with pytest.raises(InvalidArgument):
        caps.mask(["CAP_FLY"])


def test_caps_drop_bounding_then_set_exactly_then_ambient(monkeypatch):
    monkeypatch.setattr(caps, "last_cap", lambda: 40)
    sys = RecordingSyscalls()
    spec = {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
            "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}
    caps.drop_bounding(sys, spec)
    caps.keep_caps_across_setuid(sys)
    caps.apply_sets(sys, spec)
    dropped = [c[2] for c in sys.calls if c[0] == "prctl" and c[1] == PR_CAPBSET_DROP]
    assert dropped == [i for i in range(41) if i not in (0, 5)]
    rest = [c for c in sys.calls if not (c[0] == "prctl" and c[1] == PR_CAPBSET_DROP)]
    assert rest[0][:3] == ("prctl", PR_SET_KEEPCAPS, 1)
    assert rest[1] == ("capset", 1 << 5, 1 << 5, 1 << 5)
    assert rest[2][:4] == ("prctl", PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 5)


def test_recording_syscalls_can_fail_a_call():
    sys = RecordingSyscalls(fail={"pivot_root": 22})
    with pytest.raises(OSError) as e:
        sys.pivot_root(".", ".")
    assert e.value.errno == 22


def test_channel_round_trip_and_error_mapping(tmp_path):
    a, b = channel.pair()
    try:
        channel.send(a, channel.error_message(CNF('exec: "x": executable file not found in $PATH'), "find"))
        msg, fd = channel.recv(b)
        with pytest.raises(CommandNotFound):
            channel.raise_error(msg)
        channel.send(a, channel.error_message(OSError(1, "Operation not permitted", "/x"), "set hostname"))
        msg, _ = channel.recv(b)
        with pytest.raises(RuntimeFailure) as e:
            channel.raise_error(msg)
        assert str(e.value) == "set hostname: Operation not permitted: /x"
        r, w = os.pipe()
        channel.send(a, {"type": "pty"}, r)
        msg, fd = channel.recv(b)
        assert msg == {"type": "pty"} and stat.S_ISFIFO(os.fstat(fd).st_mode)
        for x in (r, w, fd):
            os.close(x)
        a.close()
        assert channel.recv(b) == (None, None)
    finally:
        a.close()
        b.close()


def test_unknown_error_kind_becomes_runtime_failure():
    with pytest.raises(RuntimeFailure):
        channel.raise_error({"type": "error", "kind": "ValueError", "msg": "x"})
