"""ReadOnlyDatabase (system check's view of sampan.db): reads, never writes, leaves no trace."""

import os
import sqlite3

import pytest

from sampan.engine.readonly_db import ReadOnlyDatabase
from sampan.engine.records import ContainerTable
from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.volumes import VolumeStore


@pytest.fixture
def db_path(tmp_path):
    """A WAL database with the containers table only (as a root that never had a volume)."""
    path = tmp_path / "sampan.db"
    db = Database(path)
    ContainerTable(db)
    db.close()
    return path


def _listing(d):
    return {n: (os.stat(d / n).st_size, os.stat(d / n).st_mtime_ns) for n in os.listdir(d)}


def test_missing_tables_read_as_empty_and_nothing_changes(db_path, tmp_path):
    before = _listing(tmp_path)
    ro = ReadOnlyDatabase(db_path)
    try:
        assert ContainerTable(ro).all() == []
        assert VolumeStore(Paths(tmp_path, tmp_path / "run"), ro).list() == []  # no such table
        assert ro.integrity_problems() == []
        with pytest.raises(sqlite3.OperationalError):
            ro.conn.execute("DELETE FROM containers")  # query_only
        with pytest.raises(sqlite3.OperationalError):
            with ro.tx():
                pass
    finally:
        ro.close()
    assert _listing(tmp_path) == before  # no -wal/-shm left, no table added
    names = {r[0] for r in sqlite3.connect(db_path).execute("SELECT name FROM sqlite_master")}
    assert "volumes" not in names


def test_readers_beside_an_open_writer_use_a_pure_read_only_connection(db_path, tmp_path):
    writer = Database(db_path)
    try:
        writer.conn.execute("INSERT INTO containers (id, name, image_id, image_ref, created, config,"
                            " state) VALUES ('c1', 'n1', 'i', 'r', 't', '{}', 'created')")
        assert os.path.exists(str(db_path) + "-wal")  # the row is in the WAL only
        wal_before = _listing(tmp_path)[db_path.name + "-wal"]
        ro = ReadOnlyDatabase(db_path)
        try:
            assert [r.id for r in ContainerTable(ro).all()] == ["c1"]
        finally:
            ro.close()
        assert _listing(tmp_path)[db_path.name + "-wal"] == wal_before  # nothing checkpointed
    finally:
        writer.close()


def test_no_database_reads_as_an_empty_one(tmp_path):
    ro = ReadOnlyDatabase(None)
    try:
        assert ContainerTable(ro).all() == []
    finally:
        ro.close()
    assert os.listdir(tmp_path) == []
