"""The distributed candidate search: block sizes, salting of hot blocks, the block-pair kernel
per bucket, and the pair completeness of a blocking.

In: :class:`SparkEncodings` of one or two parties and a blocking plan (``keys``, ``lsh``,
``functions``, from ``_pprl.blocking_plan``); out: a DataFrame of candidates ``(a, b, score)``
(record positions; each pair once) and a summary of the blocks.

Memory: nothing here materialises a block or caches the exploded rows. Block sizes come from
a plain count: each Arrow batch is reduced to ``(tag, block, n)`` in the map task (a few
bytes a block; no filters), summed by ``groupBy(tag, block)``. Only the blocks over
``block_cap`` on a side (few: at most rows / cap) are collected to the driver; the salted rows
are made afresh from the encodings in one streaming ``mapInArrow`` (explode and salt, no
cache), and every cell of a hot block holds at most about ``block_cap`` rows a side. The rows
are hashed into enough buckets that one holds about ``bucket_rows`` rows on average: a
compare call (one bucket) holds those rows and no more.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import numpy as np

from ._common import (
    BUCKET_SCHEMA,
    CANDIDATES_SCHEMA,
    COUNTS_SCHEMA,
    KEYS_SCHEMA,
    MAX_SALT,
    SparkEncodings,
    words_of,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

_MUL = np.uint64(0x9E3779B97F4A7C15)
_HOT = [("b", "<i8"), ("t", "<i8")]


def side_stats(s: SparkEncodings) -> tuple[int, int]:
    """Records and bits set, computed on the executors."""
    from pyspark.sql import functions as F

    words = s.words

    def count(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore

        for batch in batches:
            w = words_of(batch.column("clk"), words)
            ones = int(np.unpackbits(w.view(np.uint8), axis=None).sum()) if len(w) else 0
            yield pa.RecordBatch.from_pydict({"n": [batch.num_rows], "ones": [ones]})

    row = s.df.select("clk").mapInArrow(count, "n long, ones long").agg(F.sum("n"), F.sum("ones")).collect()[0]
    return int(row[0] or 0), int(row[1] or 0)


def _block_rows(batch: Any, plan: dict[str, Any], words: int, key_count: int, threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``(tag, block, row)`` of every block a batch's records are in (``tag`` = function
    << 32; no row where a record lacks a key); every record in block 0 when every pair is
    compared."""
    from pprl import _pprl as native

    n = batch.num_rows
    if plan["functions"] == 0:
        return np.zeros(n, np.int64), np.zeros(n, np.int64), np.arange(n)
    filters = np.ascontiguousarray(words_of(batch.column("clk"), words))
    flat = batch.column("blocks").flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    key_ids = flat.view(np.uint64).reshape(n, key_count) if key_count else np.zeros((n, 0), np.uint64)
    ids = native.block_ids(filters, np.ascontiguousarray(key_ids), keys=plan["keys"], lsh=plan["lsh"], threads=threads)
    tags, blocks, rows = [], [], []
    for f in range(ids.shape[1]):
        col = ids[:, f]
        keep = np.nonzero(col != 0)[0]  # 0: no block (a record without that key)
        tags.append(np.full(len(keep), f << 32, np.int64))
        blocks.append(col[keep].view(np.int64))
        rows.append(keep)
    if not tags:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(tags), np.concatenate(blocks), np.concatenate(rows)


def block_counts(s: SparkEncodings, plan: dict[str, Any], threads: int, name: str) -> "DataFrame":
    """``(tag, block, name)``: the records of each block of ``s``, a plain count (each batch
    reduced to one row a block in its map task, then summed)."""
    from pyspark.sql import functions as F

    words, key_count = s.words, s.block_keys

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore

        for batch in batches:
            if batch.num_rows == 0:
                continue
            tag, block, _ = _block_rows(batch, plan, words, key_count, threads)
            if len(tag) == 0:
                continue
            order = np.lexsort((block, tag))
            tag, block = tag[order], block[order]
            start = np.concatenate([[True], (tag[1:] != tag[:-1]) | (block[1:] != block[:-1])])
            first = np.nonzero(start)[0]
            n = np.diff(np.append(first, len(tag)))
            yield pa.RecordBatch.from_arrays(
                [pa.array(tag[first]), pa.array(block[first]), pa.array(n.astype(np.int64))], names=["tag", "block", "n"]
            )

    if plan["functions"] == 0:  # one block of every record: no block ids needed
        zero = F.lit(0).cast("long")
        return s.df.agg(F.count("*").alias(name)).select(zero.alias("tag"), zero.alias("block"), name)
    counted = s.df.select("clk", "blocks").mapInArrow(run, COUNTS_SCHEMA)
    return counted.groupBy("tag", "block").agg(F.sum("n").alias(name))


def block_keys(s: SparkEncodings, plan: dict[str, Any], threads: int) -> "DataFrame":
    """``(tag, block, pos)``: one row per record and block it is in (no filters)."""
    words, key_count = s.words, s.block_keys

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore

        for batch in batches:
            if batch.num_rows == 0:
                continue
            tag, block, rows = _block_rows(batch, plan, words, key_count, threads)
            pos = batch.column("pos").to_numpy(zero_copy_only=False).astype(np.int64)
            yield pa.RecordBatch.from_arrays([pa.array(tag), pa.array(block), pa.array(pos[rows])], names=["tag", "block", "pos"])

    return s.df.select("pos", "clk", "blocks").mapInArrow(run, KEYS_SCHEMA)


def _hot_table(hot: dict[tuple[int, int], tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hot blocks as a sorted structured array ``(block, tag)`` and their cells a side."""
    keys = sorted((b, t) for t, b in hot)
    table = np.array(keys, dtype=_HOT) if keys else np.zeros(0, dtype=_HOT)
    sl = np.array([hot[(t, b)][0] for b, t in keys], np.int64)
    sr = np.array([hot[(t, b)][1] for b, t in keys], np.int64)
    return table, sl, sr


def salted(
    s: SparkEncodings, plan: dict[str, Any], hot: dict[tuple[int, int], tuple[int, int]], left: bool, buckets: int, threads: int
) -> "DataFrame":
    """``(bucket, tag, block, pos, clk)``: each record's rows (one per block it is in), made
    from the encodings in one streaming pass. A hot block's rows go to cells (this side's row
    to one cell of its side, chosen by its position, and to every cell of the other side's),
    so each pair of the block meets in exactly one cell; every ``(tag + cell, block)`` to a
    bucket by a hash."""
    words, key_count = s.words, s.block_keys
    table, hot_sl, hot_sr = _hot_table(hot)

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore

        for batch in batches:
            if batch.num_rows == 0:
                continue
            tag, block, rows = _block_rows(batch, plan, words, key_count, threads)
            if len(tag) == 0:
                continue
            pos = batch.column("pos").to_numpy(zero_copy_only=False).astype(np.int64)[rows]
            if len(table):
                q = np.zeros(len(tag), dtype=_HOT)
                q["b"], q["t"] = block, tag
                at = np.minimum(np.searchsorted(table, q), len(table) - 1)
                is_hot = table[at] == q
                if is_hot.any():
                    h = np.nonzero(is_hot)[0]
                    e = at[h]
                    sl, sr = hot_sl[e], hot_sr[e]
                    count = sr if left else sl
                    own = pos[h] % (sl if left else sr)
                    rep = np.repeat(np.arange(len(h)), count)
                    other = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
                    x, y = (own[rep], other) if left else (other, own[rep])
                    cold = np.nonzero(~is_hot)[0]
                    sel = np.concatenate([cold, h[rep]])
                    new_tag = np.concatenate([tag[cold], tag[h[rep]] | (x << 16) | y])
                    tag, block, rows, pos = new_tag, block[sel], rows[sel], pos[sel]
            with np.errstate(over="ignore"):
                k = (block.view(np.uint64) * _MUL) ^ tag.view(np.uint64)
                k ^= k >> np.uint64(29)
                k *= _MUL
                k ^= k >> np.uint64(32)
            bucket = (k % np.uint64(buckets)).astype(np.int32)
            yield pa.RecordBatch.from_arrays(
                [pa.array(bucket), pa.array(tag), pa.array(block), pa.array(pos), batch.column("clk").take(pa.array(rows))],
                names=["bucket", "tag", "block", "pos", "clk"],
            )

    return s.df.select("pos", "clk", "blocks").mapInArrow(run, BUCKET_SCHEMA)


def blocked_candidates(
    x: SparkEncodings,
    y: Optional[SparkEncodings],
    plan: dict[str, Any],
    *,
    records: tuple[int, int],
    threshold: float,
    block_cap: int,
    partitions: int,
    bucket_rows: int,
    threads: int,
    keep: Callable[["DataFrame"], "DataFrame"],
    fail_marker: Optional[str],
) -> tuple["DataFrame", dict[str, Any]]:
    """Candidates ``(a, b, score)`` (positions) between ``x`` and ``y``, or within ``x`` when
    ``y`` is None (pairs ``a < b``), each pair once, and the block summary (``blocks``,
    ``pairs``, ``largest``, ``split``, ``cells``, ``buckets``). ``records``: of each side."""
    import pyarrow as pa  # type: ignore
    from pyspark.sql import functions as F

    dedup = y is None
    left = block_counts(x, plan, threads, "nl")
    if dedup:
        sizes = keep(left.filter(F.col("nl") > 1).withColumn("nr", F.col("nl")))
        pairs_expr = F.col("nl") * (F.col("nl") - 1) / 2
    else:
        assert y is not None
        sizes = keep(left.join(block_counts(y, plan, threads, "nr"), ["tag", "block"]))
        pairs_expr = F.col("nl") * F.col("nr")
    summary = sizes.agg(
        F.count("*").alias("blocks"),
        F.sum(pairs_expr).cast("long").alias("pairs"),
        F.max(F.struct((F.col("nl") * F.col("nr")).alias("p"), "nl", "nr")).alias("largest"),
    ).collect()[0]
    hot: dict[tuple[int, int], tuple[int, int]] = {}
    extra = 0  # rows the salting adds
    for r in sizes.filter((F.col("nl") > block_cap) | (F.col("nr") > block_cap)).collect():
        sl = min(MAX_SALT, math.ceil(r["nl"] / block_cap))
        sr = min(MAX_SALT, math.ceil(r["nr"] / block_cap))
        hot[(int(r["tag"]), int(r["block"]))] = (sl, sr)
        extra += int(r["nl"]) * (sr - 1) + int(r["nr"]) * (sl - 1)
    # Rows to shuffle, at most: every record in every block function, both sides, plus salting.
    rows = (records[0] + records[1]) * max(1, plan["functions"]) + extra
    buckets = max(partitions, math.ceil(rows / bucket_rows))
    sa = salted(x, plan, hot, True, buckets, threads)
    sb = salted(x if y is None else y, plan, hot, False, buckets, threads)
    words = x.words

    def score(left: Any, right: Any) -> Any:
        from pprl import _pprl as native

        if fail_marker is not None and not os.path.exists(fail_marker):
            with open(fail_marker, "w") as f:
                f.write("failed once\n")
            raise RuntimeError("pprl.spark: the injected task failure (a test)")
        if left.num_rows == 0 or right.num_rows == 0:
            return pa.table({"a": pa.array([], pa.int64()), "b": pa.array([], pa.int64()), "score": pa.array([], pa.float64())})
        col = lambda t, c: t.column(c).to_numpy().astype(np.int64)  # noqa: E731
        li, ri, s = native.compare_blocks(
            col(left, "block").view(np.uint64),
            col(left, "tag").view(np.uint64),
            np.ascontiguousarray(words_of(left.column("clk"), words)),
            col(right, "block").view(np.uint64),
            col(right, "tag").view(np.uint64),
            np.ascontiguousarray(words_of(right.column("clk"), words)),
            threshold=threshold,
            threads=threads,
        )
        ca, cb = col(left, "pos")[li], col(right, "pos")[ri]
        if dedup:  # each unordered pair once, never a record with itself
            m = ca < cb
            ca, cb, s = ca[m], cb[m], s[m]
        return pa.table({"a": ca, "b": cb, "score": s})

    grouped = sa.groupBy("bucket").cogroup(sb.groupBy("bucket")).applyInArrow(score, CANDIDATES_SCHEMA)
    cands = keep(grouped.dropDuplicates(["a", "b"]))
    info = {
        "blocks": int(summary["blocks"] or 0),
        "pairs": int(summary["pairs"] or 0),
        "largest": [int(summary["largest"]["nl"]), int(summary["largest"]["nr"])] if summary["largest"] else [0, 0],
        "split": len(hot),
        "cells": sum(sl * sr for sl, sr in hot.values()),
        "buckets": buckets,
    }
    return cands, info


def pair_completeness(
    spark: "SparkSession",
    truth: Any,
    x: SparkEncodings,
    y: SparkEncodings,
    plan: dict[str, Any],
    threads: int,
) -> tuple[Optional[float], int]:
    """The share of true pairs found in both files that share a block (any function), and
    how many there are."""
    from pyspark.sql import functions as F

    if not hasattr(truth, "sparkSession"):
        truth = spark.createDataFrame([(str(a), str(b)) for a, b in truth], "a_id string, b_id string")
    t = truth.toDF("a_id", "b_id")
    pairs = (
        t.join(x.df.select(F.col("id").alias("a_id"), F.col("pos").alias("a_pos")), "a_id")
        .join(y.df.select(F.col("id").alias("b_id"), F.col("pos").alias("b_pos")), "b_id")
        .select("a_pos", "b_pos")
        .distinct()
    )
    n = pairs.count()
    if n == 0:
        return None, 0
    ra = block_keys(x, plan, threads).withColumnRenamed("pos", "a_pos")
    rb = block_keys(y, plan, threads).withColumnRenamed("pos", "b_pos")
    covered = (
        pairs.join(ra, "a_pos")
        .join(rb, ["tag", "block", "b_pos"])
        .select("a_pos", "b_pos")
        .distinct()
        .count()
    )
    return covered / n, n
