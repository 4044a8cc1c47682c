"""The Python API without the CLI: encodings, the NumPy view, rejects, files and errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import pprl
from conftest import SCHEMA, people


def test_schema(schema):
    assert len(schema.fingerprint) == 64
    assert schema.id_column == "record_id"
    assert "surname" in schema.columns


def test_to_numpy_is_a_read_only_view_without_copy(schema, secret):
    enc = pprl.encode(people(500), schema, secret_file=secret)
    a, b = enc.to_numpy(), enc.to_numpy()
    assert a.dtype == np.uint64 and a.shape == (len(enc), enc.bits // 64)
    assert a.base is enc  # the array keeps the encodings alive and borrows their buffer
    assert np.shares_memory(a, b) and a.ctypes.data == b.ctypes.data
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0] = 1
    # Bits set: about half of a 1024-bit CLK for this schema (477 on average, measured).
    ones = np.unpackbits(a.view(np.uint8)).sum() / len(enc)
    assert 200 < ones < 900


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
def test_views_of_a_large_input_do_not_raise_resident_memory(schema, secret):
    enc = pprl.encode(people(8000), schema, secret_file=secret)
    size = enc.to_numpy().nbytes  # 8000 x 128 bytes = 1.02 MB
    before = rss_bytes()
    views = [enc.to_numpy() for _ in range(20)]  # copies would add 20 x 1.02 MB
    grown = rss_bytes() - before
    assert sum(v.nbytes for v in views) == 20 * size
    assert grown < size, f"resident memory grew by {grown} bytes for 20 views"


def test_encode_columns_none_is_empty_and_rejects_are_listed(schema, secret):
    cols = people(50)
    cols["date_of_birth"][3] = "not a date"
    enc = pprl.encode(cols, schema, secret_file=secret)
    assert enc.counts == {"rows_read": 50, "rows_encoded": len(enc), "rows_rejected": len(enc.rejects)}
    # The example schema encodes an unparseable optional value as missing and reports it.
    bad = [r for r in enc.invalid_fields if r["row"] == 4]
    assert bad and bad[0]["record_id"] == "r3" and bad[0]["field"] == "date_of_birth"
    assert bad[0]["code"] and bad[0]["reason"]
    assert "r3" in enc.ids and enc.rows is not None and 4 in enc.rows
    cols["record_id"][5] = ""  # a missing id rejects the row
    enc = pprl.encode(cols, schema, secret_file=secret)
    assert [r["row"] for r in enc.rejects] == [6] and 6 not in (enc.rows or [])


def test_encodings_are_byte_identical_across_thread_counts(schema, secret, tmp_path):
    cols = people(800, seed=3)
    files = []
    for threads in (1, 2, 5):
        out = tmp_path / f"t{threads}.clk"
        pprl.encode(cols, schema, secret_file=secret, threads=threads).write(out)
        files.append(out.read_bytes())
    assert files[0] == files[1] == files[2]


def test_clk_round_trip(schema, secret, tmp_path):
    enc = pprl.encode(people(300), schema, secret_file=secret)
    enc.write(tmp_path / "e.clk")
    back = pprl.Encodings.read(tmp_path / "e.clk")
    assert back.ids == enc.ids
    assert back.schema_fingerprint == schema.fingerprint == enc.schema_fingerprint
    assert back.key_fingerprint == enc.key_fingerprint
    assert (back.to_numpy() == enc.to_numpy()).all()
    with pytest.raises(pprl.OutputError) as e:
        back.write(tmp_path / "e.clk")  # the file it was read from
    assert e.value.code == "output-is-input"


def test_match_links_and_duplicates(schema, secret):
    cols = people(400, seed=5)
    a = pprl.encode(cols, schema, secret_file=secret)
    b = pprl.encode({k: v[:200] for k, v in cols.items()}, schema, secret_file=secret)
    links = pprl.match(a, b, threshold=0.99)
    assert len(links) >= 200 - 10
    assert sum(x == y for x, y in zip(links.a_ids, links.b_ids)) >= 190
    assert links.scores is not None and (links.scores >= 0.99).all()
    assert pprl.match(a, b, threshold=0.99, scores=False).scores is None
    dups = pprl.match(a, threshold=0.99)
    assert all(len(c) >= 2 for c in dups.clusters)
    assert '"threshold"' in links.report_json()


def test_errors_carry_codes_and_positions(schema, secret, tmp_path):
    with pytest.raises(pprl.SchemaError) as e:
        pprl.Schema.load(tmp_path / "missing.toml")
    assert e.value.code.startswith("schema-")
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 8)
    with pytest.raises(pprl.SecretError) as e:
        pprl.encode(people(3), schema, secret_file=short)
    assert e.value.code == "key-too-short"
    # A secret given where its path belongs is refused and never echoed.
    with pytest.raises(pprl.SecretError) as e:
        pprl.encode(people(3), schema, secret_file="correct horse battery staple")
    assert "horse" not in str(e.value) and e.value.code == "key-missing"
    cols = people(5)
    del cols["surname"]
    with pytest.raises(pprl.InputError) as e:
        pprl.encode(cols, schema, secret_file=secret)
    assert e.value.field is not None and e.value.code.startswith("input-")
    cols = people(5)
    cols["record_id"][4] = cols["record_id"][1]
    with pytest.raises(pprl.InputError) as e:
        pprl.encode(cols, schema, secret_file=secret)
    assert e.value.code == "encode-duplicate-id" and e.value.row == 5
    with pytest.raises(TypeError):
        pprl.encode({"record_id": [1, 2]}, schema, secret_file=secret)
    assert issubclass(pprl.KeyMismatchError, pprl.MatchError)
    assert issubclass(pprl.MatchError, pprl.PprlError)


def test_key_mismatch(schema, secret, tmp_path):
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    a = pprl.encode(people(20), schema, secret_file=secret)
    b = pprl.encode(people(20), schema, secret_file=other)
    with pytest.raises(pprl.KeyMismatchError) as e:
        pprl.match(a, b)
    assert e.value.code == "match-key-mismatch"


def test_bad_arguments(schema, secret):
    a = pprl.encode(people(10), schema, secret_file=secret)
    with pytest.raises(ValueError):
        pprl.match(a, a, threshold="high")
    with pytest.raises(ValueError):
        pprl.match(a, a, solver="best")
    with pytest.raises(ValueError):
        pprl.encode(people(3), schema, secret_file=secret, threads=0)
    with pytest.raises(pprl.MatchError):
        pprl.match(a, a, threshold=1.5)


def test_tables(schema, secret):
    pa = pytest.importorskip("pyarrow")
    cols = people(100)
    ref = pprl.encode(cols, schema, secret_file=secret)
    got = pprl.encode(pa.table(cols), schema, secret_file=secret)
    assert (got.to_numpy() == ref.to_numpy()).all() and got.ids == ref.ids


def test_schema_path_is_the_example():
    assert SCHEMA.is_file()


def test_to_arrow_shares_the_buffer(schema, secret):
    pa = pytest.importorskip("pyarrow")
    enc = pprl.encode(people(200), schema, secret_file=secret)
    table = pprl.to_arrow(enc)
    assert table.schema.field("clk").type == pa.binary(enc.bits // 8)
    assert table.column("id").to_pylist() == enc.ids
    clk = table.column("clk").chunk(0)
    assert clk.buffers()[1].address == enc.to_numpy().ctypes.data
    first = np.frombuffer(clk[0].as_py(), dtype="<u8")
    assert (first == enc.to_numpy()[0]).all()
