"""The daily CLI surface as Docker's CLI has it: exit codes, flag parsing, `help`, and the
prune prompts (texts from docker/cli's cli/command/*; exit codes from its cmd/docker)."""

import json

import pytest

# "No such ..." exits 1 in Docker (the daemon's 404 through the CLI's error exit).
MISSING = [
    (["logs", "nope"], "No such container: nope"),
    (["exec", "nope", "true"], "No such container: nope"),
    (["start", "nope"], "No such container: nope"),
    (["stop", "nope"], "No such container: nope"),
    (["kill", "nope"], "No such container: nope"),
    (["restart", "nope"], "No such container: nope"),
    (["rm", "nope"], "No such container: nope"),
    (["port", "nope"], "No such container: nope"),
    (["tag", "nope", "x"], "No such image: nope"),
    (["history", "nope"], "No such image: nope"),
    (["rmi", "nope"], "No such image: nope"),
    (["inspect", "nope"], "No such object: nope"),
    (["volume", "inspect", "nope"], "No such volume: nope"),
    (["volume", "rm", "nope"], "No such volume: nope"),
    (["network", "rm", "nope"], "network nope not found"),
]


@pytest.mark.parametrize("argv,text", MISSING, ids=[" ".join(a) for a, _ in MISSING])
def test_a_missing_object_exits_1_with_dockers_words(sampan, argv, text):
    r = sampan(*argv)
    assert r.rc == 1, (r.rc, r.err)
    assert r.err.startswith("sampan: ") and text in r.err and r.err.count("\n") == 1
    assert "Traceback" not in r.err and "internal error" not in r.err


def test_run_of_a_missing_container_to_share_stays_125(sampan):
    r = sampan("run", "--rm", "--network", "container:nope", "busybox", "true")
    assert r.rc == 125 and "No such container: nope" in r.err, (r.rc, r.err)


@pytest.mark.parametrize("argv", [["rm", "-f"], ["rmi", "-f"], ["network", "rm", "-f"],
                                  ["volume", "rm", "-f"]], ids=" ".join)
def test_forced_removal_of_missing_objects_is_quiet(sampan, argv):
    r = sampan(*argv, "nope", "gone")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_forced_removal_still_removes_what_exists_and_names_real_failures(sampan):
    sampan.ok("create", "--name", "real", "--network", "none", "busybox", "true")
    r = sampan("rm", "-f", "nope", "real")
    assert (r.rc, r.out, r.err) == (0, "real\n", "")
    sampan.ok("volume", "create", "kept")
    sampan.ok("create", "--name", "user", "--network", "none", "-v", "kept:/k", "busybox", "true")
    r = sampan("volume", "rm", "-f", "nope", "kept")  # in use: a real failure, -f or not
    assert r.rc == 1 and "nope" not in r.err and "kept" in r.err, r.err


def test_exec_it_without_a_terminal_is_dockers_error(sampan):
    sampan.ok("run", "-d", "--name", "ex", "--network", "none", "busybox", "sleep", "60")
    r = sampan("exec", "-it", "ex", "true")  # the test's stdin is /dev/null
    assert (r.rc, r.err) == (1, "sampan: the input device is not a TTY\n")
    assert sampan("exec", "-t", "ex", "true").rc == 0  # -t alone needs no terminal (Docker too)


# ---- flags ---------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,line", [
    (["run", "--iidfile", "x", "busybox", "true"], "unknown flag: --iidfile"),
    (["run", "--iidfile=x", "busybox", "true"], "unknown flag: --iidfile"),
    (["run", "--entr", "sh", "busybox", "true"], "unknown flag: --entr"),   # no abbreviations
    (["run", "--rm", "--pid", "1", "busybox", "true"], None),               # never --pids-limit
    (["ps", "--no-tr"], "unknown flag: --no-tr"),
    (["ps", "-Z"], "unknown shorthand flag: 'Z' in -Z"),
    (["images", "--dig"], "unknown flag: --dig"),
    (["ps", "extra"], '"sampan ps" accepts no arguments.'),
])
def test_unknown_flags_name_themselves(sampan, argv, line):
    r = sampan(*argv)
    assert r.rc == 125, (r.rc, r.err)
    if line is not None:
        assert r.err == f"sampan: {line}\nSee 'sampan {argv[0]} --help'.\n"
    assert "Traceback" not in r.err


def test_combined_short_flags_still_work(sampan):
    sampan.ok("create", "--name", "c1", "--network", "none", "busybox", "true")
    assert len(sampan.ok("ps", "-aq").split()) == 1


def test_help_command_is_command_help(sampan):
    for argv in (["ps"], ["volume", "ls"], ["system", "prune"]):
        r, direct = sampan("help", *argv), sampan(*argv, "--help")
        assert r.rc == 0 and r.out == direct.out and r.out.startswith(f"usage: sampan {' '.join(argv)}")
    r = sampan("help", "nope")
    assert r.rc == 125 and "'nope' is not a sampan command" in r.err


# ---- prune prompts -------------------------------------------------------------------------
CONFIRM = "Are you sure you want to continue? [y/N] "
PRUNES = [
    (["container", "prune"], "WARNING! This will remove all stopped containers.\n"),
    (["image", "prune"], "WARNING! This will remove all dangling images.\n"),
    (["image", "prune", "-a"],
     "WARNING! This will remove all images without at least one container associated to them.\n"),
    (["volume", "prune"],
     "WARNING! This will remove anonymous local volumes not used by at least one container.\n"),
    (["volume", "prune", "-a"],
     "WARNING! This will remove all local volumes not used by at least one container.\n"),
    (["network", "prune"],
     "WARNING! This will remove all custom networks not used by at least one container.\n"),
    (["system", "prune"], "WARNING! This will remove:\n  - all stopped containers\n"
     "  - all networks not used by at least one container\n  - all dangling images\n"
     "  - unused build cache\n\n"),
    (["system", "prune", "-a", "--volumes"], "WARNING! This will remove:\n  - all stopped containers\n"
     "  - all networks not used by at least one container\n"
     "  - all anonymous volumes not used by at least one container\n"
     "  - all images without at least one container associated to them\n"
     "  - all build cache\n\n"),
    (["system", "prune", "--filter", "until=24h", "--filter", "label=a=b"],
     "WARNING! This will remove:\n  - all stopped containers\n"
     "  - all networks not used by at least one container\n  - all dangling images\n"
     "  - unused build cache\n\n  Items to be pruned will be filtered with:\n"
     "  - label=a=b\n  - until=24h\n\n"),
]


def _prunable(sampan):
    """Something each prune would remove: a stopped container, an unused network, an unused
    named volume, an untagged image (after its container is gone, with -a)."""
    sampan.ok("create", "--name", "stopped", "--network", "none", "busybox", "true")
    sampan.ok("network", "create", "unused-net")
    sampan.ok("volume", "create", "unused-vol")
    sampan.ok("tag", "busybox", "spare:1")


def _state(sampan):
    return (sampan.ok("ps", "-aq"), sampan.ok("network", "ls", "-q"), sampan.ok("volume", "ls", "-q"),
            sampan.ok("images", "-q"), [line.split()[:2] for line in sampan.ok("images").splitlines()])


@pytest.mark.parametrize("argv,warning", PRUNES, ids=[" ".join(a) for a, _ in PRUNES])
def test_prune_asks_and_no_or_eof_removes_nothing(sampan, argv, warning):
    _prunable(sampan)
    before = _state(sampan)
    for answer in (b"n\n", b"", b"yes\n", b"\n"):  # only "y" is a yes, as Docker's prompt
        r = sampan(*argv, input=answer)
        assert (r.rc, r.out, r.err) == (0, warning + CONFIRM, ""), answer
    assert _state(sampan) == before


def test_prune_yes_and_force(sampan):
    _prunable(sampan)
    r = sampan("container", "prune", input=b"y\n")
    assert r.rc == 0 and r.out.startswith(PRUNES[0][1] + CONFIRM + "Deleted Containers:\n")
    assert sampan.ok("ps", "-aq") == ""
    r = sampan("network", "prune", "-f", input=b"")
    assert r.rc == 0 and "WARNING" not in r.out and "unused-net" in r.out
    r = sampan("volume", "prune", "--all", "--force")
    assert "unused-vol" in r.out and sampan.ok("volume", "ls", "-q") == ""
    sampan.ok("network", "create", "second-net")
    r = sampan("system", "prune", "-f", "-a")
    assert r.rc == 0 and "Deleted Networks:\nsecond-net\n\n" in r.out
    assert sampan.ok("network", "ls", "-q", "-f", "name=second-net") == ""


# ---- filters -------------------------------------------------------------------------------
def test_ps_filters_label_health_and_unknown_keys(sampan):
    sampan.ok("create", "--name", "db", "--label", "role=db", "--label", "tier", "--network", "none",
              "busybox", "true")
    sampan.ok("create", "--name", "web", "--label", "role=web", "--network", "none", "busybox", "true")

    def names(*filters):
        argv = ["ps", "-a", "-q", "--no-trunc"]
        for f in filters:
            argv += ["-f", f]
        ids = sampan.ok(*argv).split()
        return sorted(json.loads(sampan.ok("inspect", *ids))[i]["Name"][1:] for i in range(len(ids))) if ids else []

    assert names("label=role") == ["db", "web"]
    assert names("label=role=db") == ["db"]
    assert names("label=role", "label=tier") == ["db"]           # every label must match
    assert names("label=role=db", "label=role=web") == []
    assert names("label=tier=") == ["db"]                        # a label with an empty value
    assert names("health=none") == ["db", "web"]                 # no health check: "none"
    assert names("health=healthy") == [] and names("health=starting", "health=unhealthy") == []
    assert names("exited=0") == [] and names("status=created") == ["db", "web"]
    for bad, text in (("bogus=1", "invalid filter 'bogus'"), ("health=fine", "invalid filter 'health=fine'"),
                      ("exited=x", "invalid filter 'exited=x'"), ("status=up", "invalid filter 'status=up'")):
        r = sampan("ps", "-f", bad)
        assert r.rc == 125 and r.err.startswith(f"sampan: {text}") and r.err.count("\n") == 1, r.err


def test_volume_and_network_ls_filters(sampan):
    sampan.ok("volume", "create", "--label", "keep", "used-vol")
    sampan.ok("volume", "create", "free-vol")
    sampan.ok("network", "create", "--label", "team=a", "used-net")
    sampan.ok("network", "create", "free-net")
    sampan.ok("create", "--name", "user", "--network", "used-net", "-v", "used-vol:/v", "busybox", "true")

    def vols(*f):
        return sampan.ok("volume", "ls", "-q", *[x for v in f for x in ("-f", v)]).split()

    def nets(*f):
        rows = sampan.ok("network", "ls", *[x for v in f for x in ("-f", v)]).splitlines()[1:]
        return sorted(r.split()[1] for r in rows)

    assert vols("dangling=true") == ["free-vol"] and vols("dangling=false") == ["used-vol"]
    assert vols("name=vol") == ["free-vol", "used-vol"] and vols("name=free") == ["free-vol"]
    assert vols("label=keep") == ["used-vol"] and vols("driver=local") == ["free-vol", "used-vol"]
    assert vols("driver=nfs") == []
    assert nets("dangling=true") == ["free-net"] and "used-net" in nets("dangling=false")
    assert nets("name=-net") == ["free-net", "used-net"] and nets("label=team=a") == ["used-net"]
    assert nets("label=team=b") == [] and nets("driver=overlay") == []
    assert "free-net" in nets("driver=bridge")
    for argv in (("volume", "ls", "-f", "size=1"), ("network", "ls", "-f", "color=red")):
        r = sampan(*argv)
        assert r.rc == 125 and r.err.startswith("sampan: invalid filter '"), r.err


# ---- logs ----------------------------------------------------------------------------------
def _stamp(t: float, offset_h: int = 0) -> str:
    """An RFC 3339 time with a zone offset (a local time elsewhere, as users type them)."""
    import datetime
    zone = datetime.timezone(datetime.timedelta(hours=offset_h))
    return datetime.datetime.fromtimestamp(t, zone).isoformat()


def test_logs_since_until_in_every_form_and_details(sampan):
    import calendar
    import time as _time
    sampan.ok("run", "--name", "talk", "--network", "none", "busybox", "sh", "-c",
              "echo one; sleep 0.4; echo two >&2; sleep 0.4; echo three")
    stamped = sampan.ok("logs", "-t", "talk").splitlines() + sampan("logs", "-t", "talk").err.splitlines()
    times = sorted(line.split()[0] for line in stamped)
    assert len(times) == 3

    def unix(stamp: str) -> float:
        head, frac = stamp.rstrip("Z").split(".")
        return calendar.timegm(_time.strptime(head, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)

    t1, t2, t3 = map(unix, times)
    between12, between23 = (t1 + t2) / 2, (t2 + t3) / 2

    def logs(*a):
        r = sampan("logs", *a, "talk")
        assert r.rc == 0, r.err
        return r.out + r.err

    assert logs("--since", f"{between12:.6f}") == "three\ntwo\n"        # unix time (stdout first here)
    assert logs("--until", f"{between12:.6f}") == "one\n"
    assert logs("--since", _stamp(between12, 2), "--until", _stamp(between23, -5)) == "two\n"   # RFC 3339
    assert logs("--since", "1h") == "one\nthree\ntwo\n" and logs("--until", "1h") == ""     # relative
    assert logs("--since", "1h30m", "--until", "0s") == "one\nthree\ntwo\n"
    assert logs("--tail", "1", "--since", "1h") == "three\n"   # tail counts before the window
    assert logs("--details") == " one\n three\n two\n"        # no attributes: Docker's lone space
    assert logs("--details", "-t", "--tail", "1").split(" ", 1)[1] == " three\n"
    for bad in ("yesterday", "10x", "2024-13-45T99:00:00Z", "9" * 40):
        r = sampan("logs", "--since", bad, "talk")
        assert r.rc == 125 and r.err.startswith("sampan: invalid time") and r.err.count("\n") == 1, r.err


# ---- completion ----------------------------------------------------------------------------
def _complete(sampan, script: str, *words: str) -> list[str]:
    """Run bash's completion function as bash would for `sampan WORDS...` (the last word is
    the one being completed), with `sampan` calling this tree's code on the test's root."""
    import shlex
    import subprocess
    import sys
    line = ["sampan", "--root", str(sampan.root), "--runroot", str(sampan.runroot), *words]
    program = (f'sampan() {{ {shlex.quote(sys.executable)} -m sampan "$@"; }}\n{script}\n'
               f"COMP_WORDS=({' '.join(map(shlex.quote, line))})\nCOMP_CWORD={len(line) - 1}\n"
               '_sampan\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                       env=sampan.env(), timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return sorted(w for w in p.stdout.split("\n") if w)


def test_bash_completion_from_the_parsers(sampan):
    sampan.ok("create", "--name", "alpha-one", "--network", "none", "busybox", "true")
    sampan.ok("create", "--name", "alpha-two", "--network", "none", "busybox", "true")
    sampan.ok("volume", "create", "vol-a")
    sampan.ok("network", "create", "net-a")
    script = sampan.ok("completion", "bash")
    assert "complete -F _sampan sampan" in script
    c = lambda *w: _complete(sampan, script, *w)  # noqa: E731
    assert c("") == sorted(c("")) and {"run", "ps", "volume", "completion", "help"} <= set(c(""))
    assert c("ru") == ["run"] and c("--ro") == ["--root"]
    assert c("logs", "al") == ["alpha-one", "alpha-two"]
    assert c("logs", "--since", "1h", "alpha-t") == ["alpha-two"]     # a flag's value is no argument
    assert c("rm", "-f", "alpha-one", "alpha-") == ["alpha-one", "alpha-two"]
    assert c("ps", "--no") == ["--no-trunc"] and c("ps", "--fil") == ["--filter"]
    assert "--entrypoint" in c("run", "--entr") and c("run", "--entr") == ["--entrypoint"]
    assert c("run", "busy") == ["busybox:latest"]
    assert c("volume", "") == ["create", "inspect", "ls", "prune", "rm"]
    assert c("volume", "rm", "vol") == ["vol-a"] and c("network", "inspect", "net-") == ["net-a"]
    assert c("network", "connect", "net-a", "alpha-o") == ["alpha-one"]
    assert c("container", "ls", "-") == sorted(c("ps", "-"))
    assert c("system", "zygote", "s") == ["status", "stop"]
    assert c("completion", "") == ["bash", "fish", "zsh"] and c("help", "vol") == ["volume"]
    assert c("inspect", "alpha-one", "busy") == ["busybox:latest"]
    # every flag offered is one the command takes
    for flag in c("run", "-"):
        r = sampan("run", flag, "--help")
        assert "unknown flag" not in r.err and "unknown shorthand" not in r.err, flag


def test_zsh_and_fish_scripts(sampan):
    import shutil
    import subprocess
    zsh = sampan.ok("completion", "zsh")
    assert zsh.startswith("#compdef sampan") and "bashcompinit" in zsh and "_sampan()" in zsh
    fish = sampan.ok("completion", "fish")
    assert "complete -c sampan -n __fish_use_subcommand -a 'run'" in fish
    assert "-l entrypoint -r" in fish and "(__sampan_names containers)" in fish
    for shell, script in (("zsh", zsh), ("fish", fish)):
        exe = shutil.which(shell)
        if exe:  # when the shell is installed, the script at least parses
            flag = ["-n"] if shell == "zsh" else ["--no-execute"]
            p = subprocess.run([exe, *flag], input=script, capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, p.stderr
    r = sampan("completion", "tcsh")
    assert r.rc == 125 and "invalid choice" in r.err


def test_a_closed_stdout_ends_quietly_in_process(sampan):
    import os
    import subprocess
    for argv in (["images"], ["ps", "-a"], ["--help"], ["ps", "--help"], ["completion", "bash"]):
        r, w = os.pipe()
        os.close(r)  # the reader is gone before the first write: `sampan images | head -0`
        p = subprocess.run(sampan.argv(*argv), stdout=w, stderr=subprocess.PIPE, env=sampan.env(),
                           stdin=subprocess.DEVNULL, timeout=60)
        os.close(w)
        assert (p.returncode, p.stderr) == (0, b""), (argv, p.stderr)


# ---- sizes ---------------------------------------------------------------------------------
def test_ps_size_images_digests_and_df_verbose(sampan):
    sampan.ok("run", "-d", "--name", "writer", "--network", "none", "-v", "data:/data", "busybox", "sh", "-c",
              "head -c 12345 /dev/zero > /f; ln /f /g; printf ab > /data/two; sleep 60")
    sampan.ok("create", "--name", "idle", "--network", "none", "busybox", "true")
    import time as _time
    deadline = _time.monotonic() + 20
    while "12.3kB" not in sampan.ok("ps", "-s") and _time.monotonic() < deadline:
        _time.sleep(0.1)
    image_size = json.loads(sampan.ok("inspect", "--type", "image", "busybox"))[0]["Size"]
    table = sampan.ok("ps", "-a", "-s").splitlines()
    assert table[0].split()[-1] == "SIZE" and table[0].startswith("CONTAINER ID")
    from sampan.cli.output import human_size
    virtual = f"(virtual {human_size(12345 + image_size, 3)})"
    writer = next(line for line in table if line.rstrip().endswith(virtual))
    assert "writer" in writer and "12.3kB " + virtual in writer     # the hard link counted once
    assert any("idle" in line and line.rstrip().endswith(f"0B (virtual {human_size(image_size, 3)})")
               for line in table)
    assert "SIZE" not in sampan.ok("ps", "-a").splitlines()[0]
    # images --digests: a DIGEST column after TAG; an image that came by no registry has none
    head, row = sampan.ok("images", "--digests").splitlines()[:2]
    assert head.split()[:3] == ["REPOSITORY", "TAG", "DIGEST"] and row.split()[:3] == ["busybox", "latest", "<none>"]
    # system df -v: Docker's four sections
    out = sampan.ok("system", "df", "-v")
    assert out.startswith("Images space usage:\n\nREPOSITORY   TAG ")
    for section in ("\nContainers space usage:\n\nCONTAINER ID ", "\nLocal Volumes space usage:\n\nVOLUME NAME ",
                    "\nBuild cache usage: 0B\n\nCACHE ID "):
        assert section in out, out
    vols = out.split("Local Volumes space usage:")[1].split("Build cache")[0]
    assert any(line.split() == ["data", "1", "2B"] or line.split()[:2] == ["data", "1"] for line in vols.splitlines())
    assert any("writer" in line and " 1 " in line and "12.3kB" in line for line in out.splitlines())


def test_sizes_never_follow_a_containers_symlinks(sampan):
    """The writable layer is the container's: links to the host's / and to the engine's own
    state count as links, even while the container swaps a directory for one."""
    sampan.ok("run", "-d", "--name", "swapper", "--network", "none", "busybox", "sh", "-c",
              f"ln -s / /hostroot; ln -s {sampan.root} /state; mkdir -p /d; "
              "while true; do mv /d /d2 && ln -s / /d; rm /d; mv /d2 /d; done")
    for _ in range(15):
        line = next(x for x in sampan.ok("ps", "-s").splitlines() if "swapper" in x)
        assert _bytes(line.split("(virtual")[0].split()[-1]) < 10_000, line
    df = next(x for x in sampan.ok("system", "df").splitlines() if x.startswith("Containers"))
    assert _bytes(df.split()[3]) < 10_000, df


def _bytes(text: str) -> float:
    """Docker's human size ("31B", "12.3kB", "4.26MB") back to bytes."""
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * scale
    raise AssertionError(f"not a size: {text!r}")


# ---- pooled network sandboxes ----------------------------------------------------------------
def _spare_rows(sampan) -> list:
    import sqlite3
    db = sqlite3.connect(sampan.root / "sampan.db")
    try:
        return db.execute("SELECT cid, netns FROM net_attachments WHERE state='spare'").fetchall()
    finally:
        db.close()


def _pooled_spare(sampan) -> list:
    """Run a bridge container that leaves its sandbox to the pool (with another container
    kept, so the root is not empty)."""
    from tests.integration.engine.conftest import settle
    sampan.ok("run", "--rm", "busybox", "true")
    settle(sampan)
    import time
    deadline = time.monotonic() + 20
    while not _spare_rows(sampan) and time.monotonic() < deadline:
        time.sleep(0.1)
        settle(sampan)
    rows = _spare_rows(sampan)
    assert rows, "no spare sandbox was pooled"
    return rows


def test_pooled_sandboxes_go_with_the_last_container_and_system_prune(sampan):
    from tests.integration.engine.conftest import settle, spare_veths

    def links() -> set[str]:
        import subprocess
        out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        return {line.split(":")[1].split("@")[0].strip() for line in out.splitlines()}

    sampan.ok("create", "--name", "keeper", "--network", "none", "busybox", "true")
    rows = _pooled_spare(sampan)
    veths = spare_veths(sampan)
    assert veths and veths <= links()
    # a --rm exit keeps the pool for the next run; an explicit rm of the root's last one does not
    sampan.ok("rm", "keeper")
    settle(sampan)
    assert _spare_rows(sampan) == [] and not (veths & links())
    assert not any((sampan.runroot / "netns" / r[1].rsplit("/", 1)[1]).exists() for r in rows)
    # system prune releases them too, even with containers left
    sampan.ok("create", "--name", "keeper", "--network", "none", "busybox", "true")
    sampan.ok("run", "-d", "--name", "alive", "--network", "none", "busybox", "sleep", "60")
    _pooled_spare(sampan)
    out = sampan.ok("system", "prune", "-f")
    assert "keeper" not in sampan.ok("ps", "-a") and "alive" in sampan.ok("ps")
    assert _spare_rows(sampan) == [], out
    assert sampan("system", "check").rc == 0


def test_system_check_reports_a_leaked_sandbox(sampan):
    import subprocess
    sampan.ok("create", "--name", "keeper", "--network", "none", "busybox", "true")
    [(cid, netns)] = _pooled_spare(sampan)[:1]
    assert sampan("system", "check").rc == 0
    subprocess.run(["umount", netns], check=True)   # what a crash or a careless admin leaves
    r = sampan("system", "check")
    assert r.rc == 1 and f"spare network sandbox {cid}" in r.out and "lost its namespace" in r.out, r.out
    sampan.ok("system", "prune", "-f")
    r = sampan("system", "check")
    assert r.rc == 0 and "sandbox" not in r.out, r.out


def test_ps_publish_and_expose_filters(sampan):
    from tests.support.net import free_port
    port = free_port()
    sampan.ok("run", "-d", "--name", "pub", "-p", f"{port}:80", "busybox", "sleep", "60")
    sampan.ok("create", "--name", "quiet", "--network", "none", "busybox", "true")

    def names(*f):
        return sampan.ok("ps", "-a", "--format", "{{.Names}}", *[x for v in f for x in ("-f", v)]).split()

    assert names(f"publish={port}") == ["pub"] and names(f"publish={port}/tcp") == ["pub"]
    assert names(f"publish={port}/udp") == [] and names(f"publish={port - 1}-{port + 1}") == ["pub"]
    assert names("expose=80") == ["pub"] and names("expose=81") == []
    r = sampan("ps", "-f", "publish=80:80")
    assert r.rc == 125 and "should not contain ':'" in r.err
