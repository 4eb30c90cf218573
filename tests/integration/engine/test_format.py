"""Every command's --format is Go's text/template as the docker CLI runs it: Docker's field
names on real containers, images, volumes and networks; `table` with Docker's headers and
tabwriter columns; `json`; and a bad template or an unknown field is one line on stderr with
Docker's exit code, never `<no value>` with exit 0."""

import json
import re


def test_ps_fields_table_and_json(sampan):
    cid = sampan.ok("run", "-d", "--name", "web", "--label", "tier=front", "--label", "a.b/c-d=x",
                    "busybox", "sleep", "100").strip()
    out = sampan.ok("ps", "--format", "{{.ID}}|{{.Names}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Label \"tier\"}}|"
                                      "{{.Labels}}|{{.Networks}}|{{.LocalVolumes}}|{{.Size}}")
    # .Size in a template makes ps compute sizes, as Docker's CLI does (docker/cli#24696)
    assert out.startswith(f'{cid[:12]}|web|busybox|"sleep 100"|running|front|a.b/c-d=x,tier=front|bridge|0|'
                          '0B (virtual ') and out.endswith("B)\n"), out
    assert sampan.ok("ps", "--no-trunc", "--format", "{{.ID}}").strip() == cid
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+\n", sampan.ok("ps", "--format", "{{.CreatedAt}}"))
    # table: Docker's headers, tabwriter columns (min width 10, 3 spaces of padding)
    table = sampan.ok("ps", "--format", "table {{.Names}}\\t{{.State}}\\t{{.Label \"a.b/c-d\"}}")
    assert table == "NAMES     STATE     b/c d\nweb       running   x\n"  # Label: the last dotted part
    row = json.loads(sampan.ok("ps", "--format", "json"))
    assert row["Names"] == "web" and row["ID"] == cid[:12] and row["Command"] == '"sleep 100"'
    assert set(row) >= {"ID", "Image", "Command", "CreatedAt", "RunningFor", "Ports", "State", "Status", "Size",
                        "Names", "Labels", "Mounts", "Networks"}
    assert sampan.ok("ps", "--format", "{{json .Labels}} {{range split .Labels \",\"}}<{{.}}>{{end}}") == \
        '"a.b/c-d=x,tier=front" <a.b/c-d=x><tier=front>\n'
    # the default table is Docker's own template
    assert sampan.ok("ps", "--format", "table").splitlines()[0].split() == \
        ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]


def test_template_errors_are_one_line_with_docker_s_exit_code(sampan):
    sampan.ok("create", "--name", "c1", "busybox", "true")
    sampan.ok("volume", "create", "v1")  # a template runs once per row: a list needs one
    sampan.ok("network", "create", "n1")
    for argv, rc, msg in (
            (["ps", "-a", "--format", "{{.Nope}}"], 1,
             'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope '
             'in type *formatter.ContainerContext'),
            (["ps", "--format", "{{foo}}"], 1, 'failed to parse template: template: :1: function "foo" not defined'),
            (["images", "--format", "{{.Names}}"], 1, "can't evaluate field Names in type *formatter.imageContext"),
            (["images", "--format", "{{.ID"], 1, "template parsing error: template: :1: unclosed action"),
            (["inspect", "-f", "{{.Nope}}", "c1"], 1, 'map has no entry for key "Nope"'),
            (["inspect", "-f", "{{foo .Id}}", "c1"], 64, 'function "foo" not defined'),
            (["volume", "ls", "--format", "{{.Id}}"], 1, "can't evaluate field Id"),
            (["network", "ls", "--format", "{{.Subnet}}"], 1, "can't evaluate field Subnet"),
            (["version", "--format", "{{.Nope}}"], 1, "can't evaluate field Nope in type system.versionInfo"),
            (["info", "--format", "{{.Nope}}"], 1, "can't evaluate field Nope in type info.dockerInfo"),
            (["history", "--format", "{{.Nope}}", "busybox"], 1, "can't evaluate field Nope"),
            (["system", "df", "--format", "{{lower .Nope}}"], 1, "can't evaluate field Nope")):
        r = sampan(*argv)
        assert r.rc == rc, (argv, r.rc, r.err)
        assert msg in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, (argv, r.err)
        assert "<no value>" not in r.out and r.out.strip() == "", (argv, r.out)


def test_inspect_format_over_docker_s_json(sampan):
    sampan.ok("create", "--name", "c1", "--label", "k=v", "-e", "A=1", "busybox", "sh", "-c", "exit 3")
    cid = sampan.ok("inspect", "-f", "{{.Id}}", "c1").strip()
    assert len(cid) == 64
    assert sampan.ok("inspect", "-f", "{{.Name}} {{.State.Status}} {{.Config.Labels}} {{index .Config.Labels \"k\"}}"
                     " [{{index .Config.Labels \"none\"}}] {{.State.Running}} {{.Config.Cmd}}", "c1") == \
        "/c1 created map[k:v] v [] false [sh -c exit 3]\n"
    assert sampan.ok("inspect", "-f", "{{range .Config.Env}}{{if eq . \"A=1\"}}found{{end}}{{end}}", "c1") == "found\n"
    assert sampan.ok("inspect", "-f", "{{json .Config.Labels}}", "c1") == '{"k":"v"}\n'
    arr = json.loads(sampan.ok("inspect", "--format", "json", "c1", "busybox"))
    assert [a["Id"].removeprefix("sha256:")[:12] for a in arr][0] == cid[:12] and len(arr) == 2
    # one object failing its template does not hide the others (Docker prints them, exits 1)
    r = sampan("inspect", "-f", "{{.Config.Hostname}}", "c1", "nope")
    assert r.rc == 1 and r.out.strip() and "nope" in r.err
    img = sampan.ok("inspect", "--type", "image", "-f", "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}}", "busybox")
    assert re.fullmatch(r"linux/\w+ \d+\n", img)


def test_images_volumes_networks_history_df(sampan):
    out = sampan.ok("images", "--format", "{{.Repository}}|{{.Tag}}|{{.ID}}|{{.Digest}}|{{.Size}}|{{.Containers}}")
    repo, tag, ident, digest, size, containers = out.strip().split("|")
    assert (repo, tag, len(ident)) == ("busybox", "latest", 12) and re.fullmatch(r"[\d.]+[kM]?B", size)
    head = sampan.ok("images", "--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}").splitlines()
    assert head[0] == "REPOSITORY   TAG       IMAGE ID       CREATED"
    assert json.loads(sampan.ok("images", "--format", "json"))["Repository"] == "busybox"
    sampan.ok("volume", "create", "--label", "x=1", "vol1")
    assert sampan.ok("volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Label \"x\"}} {{.Scope}} {{.Links}}") == \
        "vol1 local 1 local N/A\n"
    assert sampan.ok("volume", "ls", "--format", "table {{.Name}}\\t{{.Driver}}") == \
        "VOLUME NAME   DRIVER\nvol1          local\n"
    assert sampan.ok("volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels}}", "vol1") == "vol1 local map[x:1]\n"
    sampan.ok("network", "create", "--label", "team=a", "net1")
    net = sampan.ok("network", "ls", "--filter", "name=net1", "--format",
                    "{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.Labels}} {{len .ID}}")
    assert net == "net1 bridge local false team=a 12\n"
    assert sampan.ok("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.team}}", "net1") == "net1 bridge a\n"
    hist = sampan.ok("history", "--format", "table {{.ID}}\\t{{.Size}}\\t{{.CreatedBy}}", "busybox").splitlines()
    assert hist[0].split() == ["IMAGE", "SIZE", "CREATED", "BY"] and len(hist) >= 2
    assert sampan.ok("history", "--no-trunc", "-H=false", "--format", "{{.Size}}", "busybox").split()[-1].isdigit()
    df = [json.loads(line) for line in sampan.ok("system", "df", "--format", "json").splitlines()]
    assert [d["Type"] for d in df] == ["Images", "Containers", "Local Volumes"] and df[0]["TotalCount"] == "1"
    assert sampan.ok("system", "df", "--format", "table {{.Type}}\\t{{.TotalCount}}").splitlines()[:2] == \
        ["TYPE            TOTAL", "Images          1"]


def test_version_and_info_format(sampan):
    from sampan import __version__
    assert sampan.ok("version", "--format", "{{.Client.Version}} {{.Server.Version}} {{.Server.Os}}") == \
        f"{__version__} {__version__} linux\n"
    v = json.loads(sampan.ok("version", "--format", "json"))
    assert v["Client"]["ApiVersion"] and v["Server"]["MinAPIVersion"] == "1.24"
    sampan.ok("run", "-d", "--name", "up", "busybox", "sleep", "100")
    assert sampan.ok("info", "--format", "{{.ContainersRunning}} {{.Containers}} {{.Images}} {{if .NCPU}}cpus{{end}}") == \
        "1 1 1 cpus\n"
    assert json.loads(sampan.ok("info", "--format", "{{json .}}"))["ContainersRunning"] == 1


def test_hostile_names_and_labels_stay_data(sampan):
    """A label or name full of template syntax, HTML and control characters is printed, never run."""
    evil = '{{.ID}}<b>&"\\\t\n\x01'
    sampan.ok("create", "--name", "evil", "--label", f"k={evil}", "busybox", "true")
    assert sampan.ok("ps", "-a", "--format", "{{.Label \"k\"}}") == evil + "\n"
    assert json.loads(sampan.ok("ps", "-a", "--format", "{{json .Labels}}")) == f"k={evil}"
    raw = sampan.ok("ps", "-a", "--format", "json")
    assert "\\u003cb\\u003e" in raw and json.loads(raw)["Labels"] == f"k={evil}"  # Docker's MarshalJSON escapes HTML
    assert sampan.ok("inspect", "-f", "{{printf \"%q\" (index .Config.Labels \"k\")}}", "evil") == \
        '"{{.ID}}<b>&\\"\\\\\\t\\n\\x01"\n'
