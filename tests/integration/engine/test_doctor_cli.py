"""`sampan doctor` on the real host (and in the cgroup v2 guest: tests/vm-set)."""

import json
import os
import subprocess

from tests.support.cli import SAMPAN


def doctor(*args, user=None):
    cmd = SAMPAN + ["doctor", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, user=user,
                       env=dict(os.environ, SAMPAN_NO_ZYGOTE="1"), cwd="/")
    return p.returncode, p.stdout, p.stderr


def test_doctor_says_this_host_can_run_containers_and_names_its_cgroups():
    rc, out, err = doctor()
    assert rc == 0, out + err
    lines = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    cg = next(v for k, v in lines.items() if k.endswith("cgroups"))
    assert ("v2 (unified)" if v2 else "v1 (") in cg
    assert out.rstrip().endswith("sampan can run containers here")
    found = json.loads(doctor("--format", "json")[1])
    assert {f["name"] for f in found} >= {"root", "kernel", "cgroups", "overlayfs", "namespaces", "seccomp"}


def test_doctor_as_a_user_says_what_is_missing_and_exits_1():
    rc, out, _ = doctor(user="nobody")
    assert rc == 1
    assert "MISSING root: running as uid 65534" in out
    assert "cannot run containers here" in out
