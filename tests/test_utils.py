import pytest

from astropy_radiounet.utils import atomic_write


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "table.ecsv"
    path.write_text("old")
    with atomic_write(path) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".ecsv"
        assert temporary != path
        temporary.write_text("new")
        assert path.read_text() == "old"  # nothing visible before the block ends
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["table.ecsv"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "unit.json"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(path) as temporary:
            temporary.write_text("par")
            raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["unit.json"]


def test_concurrent_writers_get_their_own_temporary_file(tmp_path):
    path = tmp_path / "manifest.json"
    with atomic_write(path) as first, atomic_write(path) as second:
        assert first != second
        first.write_text("first")
        second.write_text("second")
    assert path.read_text() == "first"  # the last block to end wins
