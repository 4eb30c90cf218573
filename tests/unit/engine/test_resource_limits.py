"""The engine's choice for --blkio-weight and Docker's "0 means unset"."""

import sampan.runtime.cgroups as cgroups
from sampan.engine.create import _more_limits
from sampan.engine.options import RunOptions


def test_blkio_weight_discarded_with_a_warning_where_the_kernel_takes_none(monkeypatch, capsys):
    monkeypatch.setattr(cgroups, "blkio_weight_file", lambda: None)
    got = _more_limits(RunOptions(image="x", blkio_weight="300", memory_swap="0", cpu_shares="0"), None)
    assert set(got.values()) == {None}
    assert capsys.readouterr().err.count("--blkio-weight discarded") == 1
    monkeypatch.setattr(cgroups, "blkio_weight_file", lambda: "io.weight")
    assert _more_limits(RunOptions(image="x", blkio_weight="300"), None)["blkio_weight"] == 300
    assert capsys.readouterr().err == ""
