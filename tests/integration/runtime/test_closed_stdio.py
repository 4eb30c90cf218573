"""A caller with its own stdin/stdout closed (a daemon) still gets working container stdio."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_create_from_a_caller_with_closed_std_fds(h, tmp_path):
    cid, bundle = h.bundle(["sh", "-c", "echo from-container; exit 7"])
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import os, sys
        from sampan.runtime.base import Stdio, become_subreaper
        from sampan.runtime.factory import get_runtime
        become_subreaper()
        rt = get_runtime({h.rt.name!r}, {str(h.base / 'closed-state')!r})
        w = os.open({str(out)!r}, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(0); os.close(1)
        c = rt.create({cid!r}, {str(bundle)!r}, Stdio(stdout=w, stderr=w))
        rt.start({cid!r})
        _, status = os.waitpid(c.pid, 0)
        rt.delete({cid!r})
        os.write(2, str(os.waitstatus_to_exitcode(status)).encode())
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    assert res.stderr.strip().endswith("7"), res.stderr
    assert out.read_text() == "from-container\n"
