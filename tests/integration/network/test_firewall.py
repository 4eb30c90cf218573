"""FORWARD policy DROP (as Docker's daemon leaves it): the firewall plugin joins the chain.

Flipping the host's FORWARD policy would break every other test running in
parallel, so the whole "host" here is a private network namespace: a child
process unshares one, sets its FORWARD policy to DROP and runs sampan there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import shutil
import tempfile
from pathlib import Path

from tests.support import leaks

SCRIPT = r'''
import json, secrets, subprocess, sys, time
from pathlib import Path
import sampan.network.manager as manager
from sampan.network import NetworkManager
from sampan.state.db import Database
from sampan.state.paths import Paths

base = Path(sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["iptables", "-P", "FORWARD", "DROP"], check=True)
paths = Paths(base / "root", base / "run")
paths.ensure()
db = Database(paths.db)
nm = NetworkManager(paths, db)
out = {}
www = base / "www"
www.mkdir()
(www / "index.html").write_text("behind-the-firewall\n")
n1, n2 = nm.create("n1"), nm.create("n2")
a_id, b_id, c_id = (secrets.token_hex(32) for _ in range(3))
a_ns, a = nm.setup(a_id, "n1")
b_ns, b = nm.setup(b_id, "n2")
real_probe = manager.forward_policy_drops
manager.forward_policy_drops = lambda probe: (real_probe(probe), False)[1]  # control: no firewall plugin
c_ns, c = nm.setup(c_id, "n1")
manager.forward_policy_drops = real_probe
rows = {r["cid"]: json.loads(r["conflist"]) for r in nm.store.attachment_rows()}
out["plugins_a"] = [p["type"] for p in rows[a_id]["plugins"]]
out["plugins_c"] = [p["type"] for p in rows[c_id]["plugins"]]
srv = subprocess.Popen(["nsenter", f"--net={b_ns}", "busybox", "httpd", "-f", "-p", "80", "-h", str(www)])
def get(ns):
    # (busybox-static wget segfaults with -T: coreutils timeout bounds it instead)
    return subprocess.run(["nsenter", f"--net={ns}", "timeout", "5", "busybox", "wget", "-q", "-O", "-",
                           f"http://{b.ip}/"], capture_output=True, text=True)
for _ in range(200):  # httpd listening?
    tcp = subprocess.run(["nsenter", f"--net={b_ns}", "cat", "/proc/net/tcp", "/proc/net/tcp6"],
                         capture_output=True, text=True).stdout
    if ":0050 " in tcp:
        break
    time.sleep(0.02)
out["a_to_b"] = get(a_ns).stdout
out["c_to_b"] = get(c_ns).stdout
srv.kill(); srv.wait()
for cid, ns in ((a_id, a_ns), (b_id, b_ns), (c_id, c_ns)):
    nm.release(cid, ns, background=False)
out["forward_rules_after"] = [l for l in subprocess.run(["iptables", "-S", "CNI-FORWARD"],
                              capture_output=True, text=True).stdout.splitlines()
                              if a.ip in l or b.ip in l or c.ip in l]
nm.remove("n1"); nm.remove("n2")
db.close()
print(json.dumps(out))
'''


def test_firewall_plugin_runs_only_when_forward_drops_and_lets_traffic_through():
    base = Path(tempfile.mkdtemp(prefix="sampan-test-fw-"))
    try:
        r = subprocess.run(["unshare", "--net", "--", sys.executable, "-c", SCRIPT, str(base)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        for mount in leaks.mounts_under(str(base)):  # only if the script died half way
            subprocess.run(["umount", "-l", mount])
        shutil.rmtree(base, ignore_errors=True)
    assert out["plugins_a"] == ["bridge", "firewall"]
    assert out["plugins_c"] == ["bridge"]
    # routed from n1 to n2 through the (private) host: allowed for a, dropped for c
    assert out["a_to_b"] == "behind-the-firewall\n"
    assert out["c_to_b"] == ""
    assert out["forward_rules_after"] == []
