"""The docker CLI's formatter contexts: Docker's field names and display strings, and
what `json .` and a `table` header make of them."""

import json
from types import SimpleNamespace as NS

import pytest

from sampan.cli.formatters import (ContainerContext, DiskUsageContext, EventContext, HistoryContext, ImageContext,
                                   VolumeContext)
from sampan.cli.gotemplate.docker import render
from sampan.errors import SampanError


def _container(**kw):
    base = dict(id="f" * 64, name="web", image="busybox", command="sh -c 'sleep 1000000000000'",
                created="2024-01-01T00:00:00Z", state="running", status="Up 5 minutes (healthy)", ports=[],
                labels={"b": "2", "a": "<1>"}, networks={"net2": {}, "bridge": {}},
                mounts=[{"Name": "a-very-long-volume-name", "Driver": "local"}, {"Source": "/host", "Driver": ""}])
    return NS(**{**base, **kw})


def test_container_context_shows_what_docker_shows():
    c = ContainerContext(_container())
    assert c.ID() == "f" * 12 and ContainerContext(_container(), trunc=False).ID() == "f" * 64
    assert c.Command() == '"sh -c \'sleep 100000…"'  # Ellipsis(20), then strconv.Quote
    assert ContainerContext(_container(), trunc=False).Command() == '"sh -c \'sleep 1000000000000\'"'
    assert c.Labels() == "a=<1>,b=2" and c.Label("a") == "<1>" and c.Label("none") == ""
    assert c.HealthStatus() == "healthy" and ContainerContext(_container(status="Up")).HealthStatus() == ""
    assert c.Mounts() == "a-very-long-vo…,/host" and c.LocalVolumes() == "1" and c.Networks() == "net2,bridge"
    assert c.Size() == "0B" and ContainerContext(_container(image="")).Image() == "<no image>"


def test_json_of_a_context_is_docker_s_marshaljson():
    """Sorted keys, every field a string, HTML escaped (json.Marshal inside MarshalJSON)."""
    out = render("{{json .}}", [ContainerContext(_container())])
    assert '"Labels":"a=\\u003c1\\u003e,b=2"' in out
    d = json.loads(out)
    assert list(d) == sorted(d) and all(isinstance(v, str) for v in d.values())
    # docker's json function itself does not escape HTML
    assert render("{{json .Labels}}", [ContainerContext(_container())]) == '"a=<1>,b=2"\n'


def test_table_headers_and_unknown_fields():
    rows = [ContainerContext(_container())]
    assert render("table {{.Names}}\\t{{.Label \"com.example.some_label\"}}\\t{{.LocalVolumes}}", rows,
                  ContainerContext.HEADER) == "NAMES     some label   LOCAL VOLUMES\nweb       " + " " * 13 + "1\n"
    with pytest.raises(SampanError) as e:
        render("{{.Name}}", rows, ContainerContext.HEADER)
    assert e.value.exit_code == 1 and "can't evaluate field Name in type *formatter.ContainerContext" in e.value.message


def test_images_history_volumes_df_and_events():
    img = NS(id="sha256:" + "a" * 64, created="2024-01-01T00:00:00Z", size=4_261_000, containers=-1)
    i = ImageContext(img, "busybox", "latest")
    assert (i.ID(), i.Size(), i.Containers(), i.Digest()) == ("a" * 12, "4.26MB", "N/A", "<none>")
    h = HistoryContext(NS(id="<missing>", created="2024-01-01T00:00:00Z", created_by="/bin/sh -c\t#(nop) " + "x" * 60,
                          size=1234, comment=""), trunc=True, human=False)
    assert h.ID() == "<missing>" and h.Size() == "1234" and h.CreatedSince() == "2024-01-01T00:00:00Z"
    assert len(h.CreatedBy()) == 45 and "\t" not in h.CreatedBy()
    v = VolumeContext(NS(name="v", driver="local", scope="local", mountpoint="/x", labels={"k": "v"}))
    assert render("{{.Name}} {{.Labels}} {{.Size}}", [v]) == "v k=v N/A\n"
    du = DiskUsageContext("Images", NS(total=3, active=1, size=1000, reclaimable=250))
    assert (du.TotalCount, du.Size, du.Reclaimable) == ("3", "1kB", "250B (25%)")
    ev = {"status": "start", "id": "abc", "Type": "container", "Action": "start",
          "Actor": {"ID": "abc", "Attributes": {"name": "<x>"}}, "scope": "local", "time": 1, "timeNano": 1}
    assert render("{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.none}} {{json .Actor}}",
                  [EventContext(ev)]) == 'start <x> <no value> {"ID":"abc","Attributes":{"name":"<x>"}}\n'


def test_ports_as_docker_displays_them():
    from sampan.cli.formatters import _ports
    P = lambda private, public=0, ip="", kind="tcp": NS(private_port=private, public_port=public, ip=ip, type=kind)  # noqa: E731
    assert _ports([]) == ""
    assert _ports([P(80, 8080, "0.0.0.0"), P(80, 8080, "::")]) == "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
    assert _ports([P(81), P(80), P(82), P(53, kind="udp")]) == "53/udp, 80-82/tcp"
    assert _ports([P(80, 80, "0.0.0.0"), P(81, 81, "0.0.0.0"), P(443, 8443, "127.0.0.1")]) == \
        "0.0.0.0:80-81->80-81/tcp, 127.0.0.1:8443->443/tcp"
    assert _ports([P(80), P(82), P(83)]) == "80/tcp, 82-83/tcp"
