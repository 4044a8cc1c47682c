"""Arrow in and out through the PyCapsule interface: pyarrow and polars tables are encoded to
the same bits as the same columns given as lists; the encodings are a `fixed_size_binary`
column over their own memory; links are an Arrow table / polars frame."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

import pprl

from conftest import COLUMNS, people


def _clk_bytes(enc: pprl.Encodings, tmp_path, name: str) -> bytes:
    path = tmp_path / name
    enc.write(path)
    return path.read_bytes()


def test_pyarrow_table_and_batch_give_the_bits_of_lists(schema, secret, tmp_path):
    pa = pytest.importorskip("pyarrow")
    cols = people(300, seed=4)
    expected = _clk_bytes(pprl.encode(cols, schema, secret_file=secret), tmp_path, "lists.clk")
    table = pa.table(cols)
    assert _clk_bytes(pprl.encode(table, schema, secret_file=secret), tmp_path, "t.clk") == expected
    # Several chunks, large strings and string views read the same.
    chunked = pa.concat_tables([table.slice(0, 100), table.slice(100)])
    assert chunked.column(0).num_chunks == 2
    assert _clk_bytes(pprl.encode(chunked, schema, secret_file=secret), tmp_path, "c.clk") == expected
    large = table.cast(pa.schema([(c, pa.large_string()) for c in COLUMNS]))
    assert _clk_bytes(pprl.encode(large, schema, secret_file=secret), tmp_path, "l.clk") == expected
    view = table.cast(pa.schema([(c, pa.string_view()) for c in COLUMNS]))
    assert _clk_bytes(pprl.encode(view, schema, secret_file=secret), tmp_path, "v.clk") == expected
    batch = table.to_batches()[0]
    assert _clk_bytes(pprl.encode(batch, schema, secret_file=secret), tmp_path, "b.clk") == expected


def test_date_and_integer_columns_are_formatted(schema, secret, tmp_path):
    pa = pytest.importorskip("pyarrow")
    cols = people(50, seed=5)
    cols["record_id"] = [str(i) for i in range(50)]
    expected = _clk_bytes(pprl.encode(cols, schema, secret_file=secret), tmp_path, "s.clk")
    typed = dict(cols)
    typed["record_id"] = pa.array(range(50), pa.int64())
    typed["date_of_birth"] = pa.array(
        [datetime.date.fromisoformat(d) for d in cols["date_of_birth"]], pa.date32()
    )
    got = pprl.encode(pa.table(typed), schema, secret_file=secret)
    assert _clk_bytes(got, tmp_path, "d.clk") == expected


def test_nulls_are_missing_values(schema, secret):
    pa = pytest.importorskip("pyarrow")
    cols = people(20, seed=6)
    assert any(v is None for v in cols["address"])
    a = pprl.encode(pa.table(cols), schema, secret_file=secret).to_numpy()
    b = pprl.encode(cols, schema, secret_file=secret).to_numpy()
    assert np.array_equal(a, b)


def test_unsupported_column_type_is_one_error(schema, secret):
    pa = pytest.importorskip("pyarrow")
    cols = people(5)
    table = pa.table(cols).set_column(1, "given_name", pa.array([1.5] * 5))
    with pytest.raises(ValueError, match="given_name"):
        pprl.encode(table, schema, secret_file=secret)


def test_polars_frame_gives_the_bits_of_lists(schema, secret, tmp_path):
    pl = pytest.importorskip("polars")
    cols = people(300, seed=7)
    expected = _clk_bytes(pprl.encode(cols, schema, secret_file=secret), tmp_path, "lists.clk")
    frame = pl.DataFrame(cols)
    assert _clk_bytes(pprl.encode(frame, schema, secret_file=secret), tmp_path, "pl.clk") == expected


def test_encodings_are_a_fixed_size_binary_column_without_copy(schema, secret):
    pa = pytest.importorskip("pyarrow")
    enc = pprl.encode(people(64), schema, secret_file=secret)
    arr = pa.array(enc)
    assert arr.type == pa.binary(enc.bits // 8)
    assert len(arr) == len(enc)
    words = enc.to_numpy()
    # Zero copy: the Arrow data buffer is the encodings' own memory.
    assert arr.buffers()[1].address == words.__array_interface__["data"][0]
    assert arr[3].as_py() == words[3].tobytes()
    del enc, words
    assert len(arr.to_pylist()) == 64  # the array keeps the encodings alive


def test_links_as_arrow_and_polars(schema, secret):
    pa = pytest.importorskip("pyarrow")
    cols = people(200, seed=8)
    a = pprl.encode(cols, schema, secret_file=secret)
    b = pprl.encode({c: v[:150] for c, v in cols.items()}, schema, secret_file=secret)
    links = pprl.match(a, b, threshold=0.9)
    assert len(links) >= 150
    table = links.to_arrow()
    assert table.column_names == ["a_id", "b_id", "score"]
    assert table.column("a_id").to_pylist() == links.a_ids
    assert table.column("b_id").to_pylist() == links.b_ids
    assert np.array_equal(table.column("score").to_numpy(), links.scores)
    assert pa.table(links).equals(table)
    no_scores = pprl.match(a, b, threshold=0.9, scores=False).to_arrow()
    assert no_scores.column_names == ["a_id", "b_id"]
    dups = pprl.match(a, threshold=0.9).to_arrow()
    assert dups.column_names == ["cluster", "id"]
    pl = pytest.importorskip("polars")
    frame = links.to_polars()
    assert frame.columns == ["a_id", "b_id", "score"]
    assert frame["a_id"].to_list() == links.a_ids


def test_evaluate_deduplication_clusters(schema, secret):
    cols = people(100, seed=9)
    # Three exact duplicates under new ids.
    dup = {c: list(v) for c, v in cols.items()}
    for i in range(3):
        for c in COLUMNS:
            dup[c].append(cols[c][i] if c != "record_id" else f"d{i}")
    enc = pprl.encode(dup, schema, secret_file=secret)
    links = pprl.match(enc, threshold=0.99)
    truth = [(f"r{i}", f"d{i}") for i in range(3)]
    m = pprl.evaluate(truth, links)
    # Every cluster pair is predicted: the three true pairs and any chance ones among people().
    predicted = sum(len(c) * (len(c) - 1) // 2 for c in links.clusters)
    assert m["tp"] == 3, (m, links.clusters)
    assert m["fn"] == 0 and m["fp"] == predicted - 3
    # Pairs count once in either order.
    assert pprl.evaluate([(b, a) for a, b in truth], links)["tp"] == 3
