"""A generated container name that another create took a moment earlier is drawn again
(fifty API clients at once clashed so); a name the user chose is refused instead."""

import pytest

from sampan.engine.create import _insert
from sampan.engine.records import ContainerRecord, ContainerTable
from sampan.errors import Conflict
from sampan.state.db import Database


def _rec(cid: str, name: str) -> ContainerRecord:
    return ContainerRecord(id=cid * 64, name=name, image_id="sha256:" + "0" * 64, image_ref="img",
                           created="", config={}, state="created")


def test_a_generated_name_taken_meanwhile_is_drawn_again(tmp_path):
    table = ContainerTable(Database(tmp_path / "db"))
    table.insert(_rec("a", "witty_somerville"))
    late = _rec("b", "witty_somerville")       # drawn before the other create recorded it
    _insert(table, late, generated=True)
    assert late.name != "witty_somerville" and sorted(table.names()) == sorted({"witty_somerville", late.name})


def test_a_chosen_name_taken_is_a_conflict(tmp_path):
    table = ContainerTable(Database(tmp_path / "db"))
    table.insert(_rec("a", "web"))
    with pytest.raises(Conflict, match='"/web" is already in use'):
        _insert(table, _rec("b", "web"), generated=False)
    assert list(table.names()) == ["web"]
