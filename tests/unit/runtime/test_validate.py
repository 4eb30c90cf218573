from pathlib import Path

import pytest

from sampan.errors import InvalidArgument
from sampan.runtime.validate import validate


def spec(tmp_path: Path, **over) -> dict:
    (tmp_path / "rootfs").mkdir(exist_ok=True)
    s = {"ociVersion": "1.0.2", "root": {"path": "rootfs"},
         "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["A=b"]},
         "linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "mount"}]}}
    s.update(over)
    return s


def test_a_good_spec_passes(tmp_path):
    validate(spec(tmp_path, hostname="x"), tmp_path)


@pytest.mark.parametrize("change, words", [
    (lambda s: s.pop("root"), "root.path"),
    (lambda s: s["root"].__setitem__("path", "missing"), "does not exist"),
    (lambda s: s.pop("process"), "no process"),
    (lambda s: s["process"].__setitem__("args", []), "process.args"),
    (lambda s: s["process"].__setitem__("cwd", "rel/dir"), "absolute"),
    (lambda s: s["process"].__setitem__("env", ["NOEQUALS"]), "NAME=value"),
    (lambda s: s["process"].__setitem__("user", {"uid": -1}), "uid"),
    (lambda s: s["process"].__setitem__("capabilities", {"bounding": ["CAP_FLY"]}), "CAP_FLY"),
    (lambda s: s["process"].__setitem__("rlimits", [{"type": "RLIMIT_X", "soft": 1, "hard": 1}]), "RLIMIT_X"),
    (lambda s: s["process"].__setitem__("rlimits", [{"type": "RLIMIT_NOFILE", "soft": 9, "hard": 1}]), "soft"),
    (lambda s: s["linux"]["namespaces"].append({"type": "pid"}), "twice"),
    (lambda s: s["linux"]["namespaces"].append({"type": "time"}), "unknown namespace"),
    (lambda s: s["linux"]["namespaces"].append({"type": "user"}), "user namespaces"),
    (lambda s: s["linux"]["namespaces"].append({"type": "network", "path": "/nonexistent/ns"}), "does not exist"),
    (lambda s: (s.__setitem__("hostname", "h"), s["linux"].__setitem__("namespaces", [])), "uts namespace"),
    (lambda s: s.__setitem__("mounts", [{"destination": "rel", "type": "tmpfs"}]), "absolute"),
    (lambda s: s.__setitem__("mounts", [{"destination": "/x", "type": "bind", "source": "/no/such"}]), "source"),
    (lambda s: s["linux"].__setitem__("cgroupsPath", "system.slice:sampan:x"), "systemd"),
    (lambda s: s["linux"].__setitem__("cgroupsPath", "/a/../../b"), ".."),
])
def test_each_check_names_the_problem(tmp_path, change, words):
    s = spec(tmp_path)
    change(s)
    with pytest.raises(InvalidArgument) as e:
        validate(s, tmp_path)
    assert words in str(e.value)
    assert "\n" not in str(e.value)
