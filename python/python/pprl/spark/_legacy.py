"""pprl on Apache Spark: encode exports and match encodings past one machine.

Spark schedules, shuffles, retries lost tasks and handles skew; pprl supplies the encoder, the
block-pair kernel and the solver (the same library code as the ``pprl`` command, so the links
are those of ``pprl match`` with the same blocking, for any number of partitions or
executors). Needs PySpark >= 4.0 and pyarrow (``pip install 'pprl[spark]'``).

* :func:`encode`: a Spark DataFrame of an export -> :class:`SparkEncodings` (and the rejected
  rows), with ``mapInArrow``; the secret reaches the executors as a *file*
  (``SparkContext.addFile``), never as a task argument or a broadcast string.
* :func:`from_encodings`: local :class:`pprl.Encodings` (e.g. ``.clk`` files) -> Spark.
* :func:`match`: two parties' encodings -> links, as a DataFrame, with the block report and
  the time of each stage: records are exploded into ``(block, party, position, filter)`` rows
  (keyed blocking keys and LSH bands, as ``pprl match --blocking`` plans them), blocks larger
  than ``block_cap`` on a side are split into cells (salting: the other side's rows are
  replicated to every cell), blocks are hashed into ``partitions`` buckets and each bucket pair
  is compared in one call of pprl's kernel (``cogroup(...).applyInArrow``), pairs found in
  several blocks are dropped, and the candidates are solved on the driver (at most
  ``candidate_cap`` of them).

Threads inside executors: every pprl call in a task uses ``spark.task.cpus`` threads (not all
the cores of the executor's machine), unless ``threads=`` says otherwise.

The secret and the executors
----------------------------
Encoding needs the project secret on every executor that encodes. :func:`encode` ships the
secret *file* with ``SparkContext.addFile``: Spark copies it into each executor's working
directory, where the task reads it by path (it is never pickled into a task, logged or shown
in the UI; only its fingerprint is). The risks and the options:

* the copy travels from the driver's file server to the executors: on a shared network enable
  Spark's authentication and encryption (``spark.authenticate=true``,
  ``spark.network.crypto.enabled=true``, or TLS with ``spark.ssl.*``);
* the copy stays in executor working directories until the application ends (and on their
  disks if they are not cleaned): run on nodes the department controls, with local disks
  encrypted, and end the application when done;
* or do not ship it: ``distribute_secret=False`` reads ``secret_file`` as a path that already
  exists on every executor (a secret mounted by the platform: Kubernetes secrets, Databricks
  secret-backed files, a vault agent), which keeps it off Spark's network entirely.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence, Union

import numpy as np

import pprl
from . import _pprl

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEncodings", "SparkMatch", "encode", "from_encodings", "match", "session_threads"]

PathLike = Union[str, "os.PathLike[str]"]

ENCODINGS_SCHEMA = "pos long, id string, clk binary, blocks array<long>"
_ENCODED_SCHEMA = ENCODINGS_SCHEMA + ", field string, code string, reason string"
_ROWS_SCHEMA = "tag long, block long, pos long, clk binary"
_BUCKET_SCHEMA = "bucket int, tag long, block long, pos long, clk binary"
_CANDIDATES_SCHEMA = "a long, b long, score double"
# Cells per hot block and side: the cell number takes 16 bits of a row's tag.
_MAX_SALT = 65535


def _require_spark() -> None:
    try:
        import pyspark
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("pprl.spark needs PySpark >= 4.0: pip install 'pprl[spark]'") from e
    major = int(pyspark.__version__.split(".")[0])
    if major < 4:
        raise ImportError(f"pprl.spark needs PySpark >= 4.0, found {pyspark.__version__}")


def session_threads(spark: "SparkSession") -> int:
    """Threads for each pprl call inside a task: ``spark.task.cpus`` (default 1)."""
    return max(1, int(spark.conf.get("spark.task.cpus", "1") or "1"))


@dataclass(frozen=True)
class SparkEncodings:
    """One party's encodings as a Spark DataFrame (``pos`` long: the record's position in its
    export, which orders ties as ``pprl match`` does; ``id`` string; ``clk`` binary: the filter
    words as little-endian bytes, pprl's bit order; ``blocks`` array<long>: the keyed blocking
    key ids, 0 for none) and the header the match needs."""

    df: "DataFrame"
    bits: int
    block_keys: int
    schema_fingerprint: str
    key_fingerprint: str

    @property
    def words(self) -> int:
        """64-bit words per encoding."""
        return self.bits // 64


@dataclass
class SparkMatch:
    """The result of :func:`match`: ``links`` (a DataFrame ``a_id``, ``b_id``, ``score`` in the
    solver's order, column ``rank`` from 0) or, for one party or three and more, ``clusters``
    (``cluster``, [``party``,] ``id``, with ``rank``), the threshold, the blocking used (of the
    first pair of parties; ``plans``: of each pair), the block report and the seconds each
    stage took (summed over the pairs of parties)."""

    links: Optional["DataFrame"]
    threshold: float
    blocking: dict[str, Any]
    report: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    clusters: Optional["DataFrame"] = None
    plans: list[dict[str, Any]] = field(default_factory=list)

    def to_arrow(self) -> Any:
        """The links (or clusters) as a ``pyarrow.Table`` (collected to the driver), in the
        order ``pprl match`` writes them."""
        df = self.links if self.links is not None else self.clusters
        assert df is not None
        return df.orderBy("rank").drop("rank").toArrow()


def _words(col: Any, words: int) -> np.ndarray:
    """A binary Arrow column of filters as an ``(n, words)`` uint64 array."""
    import pyarrow as pa  # type: ignore

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    if n == 0:
        return np.zeros((0, words), dtype=np.uint64)
    fixed = col.cast(pa.binary(words * 8))
    flat = np.frombuffer(fixed.buffers()[1], dtype=np.uint64)
    return flat[fixed.offset * words : (fixed.offset + n) * words].reshape(n, words)


def _encodings_table(enc: pprl.Encodings, pos: np.ndarray) -> Any:
    import pyarrow as pa  # type: ignore

    n, words = len(enc), enc.bits // 64
    clk = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(words * 8), n, [None, pa.py_buffer(np.ascontiguousarray(enc.to_numpy()))]
    ).cast(pa.binary())
    k = enc.block_keys
    keys = np.ascontiguousarray(enc.blocks_numpy()).reshape(-1).view(np.int64)
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * k)
    blocks = pa.ListArray.from_arrays(offsets, pa.array(keys, pa.int64()))
    return pa.table(
        {
            "pos": pa.array(pos.astype(np.int64)),
            "id": pa.array(enc.ids, pa.string()),
            "clk": clk,
            "blocks": blocks,
        }
    )


def from_encodings(
    spark: "SparkSession", encodings: Union[pprl.Encodings, PathLike], *, partitions: Optional[int] = None
) -> SparkEncodings:
    """Local encodings (:class:`pprl.Encodings` or an encoding file's path) as
    :class:`SparkEncodings`, in ``partitions`` partitions (default: Spark's)."""
    _require_spark()
    enc = encodings if isinstance(encodings, pprl.Encodings) else pprl.Encodings.read(encodings)
    table = _encodings_table(enc, np.arange(len(enc)))
    df = spark.createDataFrame(table, schema=ENCODINGS_SCHEMA)
    if partitions:
        df = df.repartition(partitions)
    return SparkEncodings(df, enc.bits, enc.block_keys, enc.schema_fingerprint, enc.key_fingerprint)


def encode(
    df: "DataFrame",
    schema: PathLike,
    *,
    secret_file: PathLike,
    distribute_secret: bool = True,
    threads: Optional[int] = None,
    check_ids: bool = True,
) -> tuple[SparkEncodings, "DataFrame"]:
    """Encodes the export ``df`` (the columns the schema names; strings, integers or dates)
    under the pprl schema file ``schema`` with the secret in the file ``secret_file``, on the
    executors (``mapInArrow``, one pprl call per Arrow batch). Returns the encodings and the
    rejected rows (``pos``, ``record_id``, ``field``, ``code``, ``reason``), the same rows and
    bits as ``pprl encode`` of the same export. ``pos`` follows the DataFrame's row order
    (``monotonically_increasing_id``), which is the file order for a file read by Spark.

    The secret file is shipped with ``SparkContext.addFile`` (see the module docs for the
    risks); ``distribute_secret=False`` reads ``secret_file`` on every executor instead (a path
    the platform mounted there). The DataFrames are lazy: each action encodes again unless they
    are cached. Record ids must be unique over the whole DataFrame, as ``pprl encode``
    requires: ``check_ids`` (default) checks that now, with one Spark job over the id column
    alone (a ``groupBy``, no encoding), and raises :class:`pprl.InputError` (code
    ``encode-duplicate-id``) naming no id; each Arrow batch is checked again as it is encoded.
    """
    _require_spark()
    from pyspark.sql import functions as F

    spark = df.sparkSession
    schema_path, secret_path = os.fspath(schema), os.fspath(secret_file)
    loaded = pprl.Schema.load(schema_path)
    if loaded.kind != "pprl":
        raise pprl.SchemaError("pprl.spark.encode takes pprl schemas (convert a clkhash schema first)")
    # The header (fingerprints, length, keys) from no rows, on the driver.
    id_col = loaded.id_column or ""
    probe = pprl.encode({c: [] for c in [id_col, *loaded.columns]}, loaded, secret_file=secret_path, threads=1)
    threads = threads or session_threads(spark)
    sc = spark.sparkContext
    sc.addFile(schema_path)
    schema_name = os.path.basename(schema_path)
    if distribute_secret:
        sc.addFile(secret_path)
        secret_name: Optional[str] = os.path.basename(secret_path)
    else:
        secret_name = None
    wanted = [c for c in dict.fromkeys([id_col, *loaded.columns]) if c in df.columns]
    source = df.select(*wanted).withColumn("__pprl_pos", F.monotonically_increasing_id())
    if check_ids and id_col in df.columns:
        dup = df.filter(F.col(id_col).isNotNull()).groupBy(id_col).count().filter(F.col("count") > 1)
        repeated = dup.agg(F.count("*"), F.sum("count")).collect()[0]
        if repeated[0]:
            e = pprl.InputError(
                f"record ids must be unique: {int(repeated[0])} ids are used by {int(repeated[1])} rows "
                "(pprl encode refuses such an export too)"
            )
            e.code = "encode-duplicate-id"
            raise e

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import warnings

        import pyarrow as pa  # type: ignore
        from pyspark import SparkFiles

        import pprl as p

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shown once, on the driver
            sch = p.Schema.load(SparkFiles.get(schema_name))
        key = SparkFiles.get(secret_name) if secret_name else secret_path
        for batch in batches:
            if batch.num_rows == 0:
                continue
            enc = p.encode(batch, sch, secret_file=key, threads=threads)
            pos = batch.column("__pprl_pos").to_numpy(zero_copy_only=False)
            rows = np.asarray(enc.rows if enc.rows is not None else [], dtype=np.int64) - 1
            t = _encodings_table(enc, pos[rows])
            none = pa.nulls(t.num_rows, pa.string())
            yield from t.append_column("field", none).append_column("code", none).append_column(
                "reason", none
            ).to_batches()
            if enc.rejects:
                r = enc.rejects
                yield pa.RecordBatch.from_pydict(
                    {
                        "pos": pa.array([int(pos[x["row"] - 1]) for x in r], pa.int64()),
                        "id": pa.array([x["record_id"] for x in r], pa.string()),
                        "clk": pa.nulls(len(r), pa.binary()),
                        "blocks": pa.nulls(len(r), pa.list_(pa.int64())),
                        "field": pa.array([x["field"] for x in r], pa.string()),
                        "code": pa.array([x["code"] for x in r], pa.string()),
                        "reason": pa.array([x["reason"] for x in r], pa.string()),
                    }
                )

    out = source.mapInArrow(run, _ENCODED_SCHEMA)
    encodings = out.filter(F.col("clk").isNotNull()).select("pos", "id", "clk", "blocks")
    rejects = out.filter(F.col("clk").isNull()).select(
        "pos", F.col("id").alias("record_id"), "field", "code", "reason"
    )
    header = SparkEncodings(
        encodings, probe.bits, probe.block_keys, probe.schema_fingerprint, probe.key_fingerprint
    )
    return header, rejects


def _check(a: SparkEncodings, b: SparkEncodings) -> None:
    if a.key_fingerprint != b.key_fingerprint:
        e = pprl.KeyMismatchError(
            f"the encodings were made with different secrets (key fingerprints {a.key_fingerprint[:16]}... "
            f"and {b.key_fingerprint[:16]}...)"
        )
        e.code = "match-key-mismatch"
        raise e
    if a.schema_fingerprint != b.schema_fingerprint or a.bits != b.bits or a.block_keys != b.block_keys:
        e2 = pprl.SchemaMismatchError(
            "the encodings were made with different schemas (fingerprints, lengths or blocking keys differ)"
        )
        e2.code = "match-schema-mismatch"
        raise e2


def _side_stats(s: SparkEncodings) -> tuple[int, int]:
    """Records and bits set, computed on the executors."""
    from pyspark.sql import functions as F

    words = s.words

    def count(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore

        for batch in batches:
            w = _words(batch.column("clk"), words)
            ones = int(np.unpackbits(w.view(np.uint8), axis=None).sum()) if len(w) else 0
            yield pa.RecordBatch.from_pydict({"n": [batch.num_rows], "ones": [ones]})

    row = s.df.select("clk").mapInArrow(count, "n long, ones long").agg(F.sum("n"), F.sum("ones")).collect()[0]
    return int(row[0] or 0), int(row[1] or 0)


def _explode(s: SparkEncodings, plan: dict[str, Any], threads: int) -> "DataFrame":
    """``(tag, block, pos, clk)``: one row per record and block function it has a block in
    (``tag`` = function << 32); one row per record in block 0 when every pair is compared."""
    words, key_count = s.words, s.block_keys
    keys, lsh, functions = plan["keys"], plan["lsh"], plan["functions"]

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore

        from pprl import _pprl as native

        for batch in batches:
            n = batch.num_rows
            if n == 0:
                continue
            filters = np.ascontiguousarray(_words(batch.column("clk"), words))
            pos = batch.column("pos").to_numpy(zero_copy_only=False)
            clk = batch.column("clk")
            if functions == 0:
                yield pa.RecordBatch.from_arrays(
                    [pa.array(np.zeros(n, np.int64)), pa.array(np.zeros(n, np.int64)), pa.array(pos), clk],
                    names=["tag", "block", "pos", "clk"],
                )
                continue
            flat = batch.column("blocks").flatten().to_numpy(zero_copy_only=False).astype(np.int64)
            key_ids = flat.view(np.uint64).reshape(n, key_count) if key_count else np.zeros((n, 0), np.uint64)
            ids = native.block_ids(filters, np.ascontiguousarray(key_ids), keys=keys, lsh=lsh, threads=threads)
            for f in range(ids.shape[1]):
                col = ids[:, f]
                keep = np.nonzero(col != 0)[0]  # 0: no block (a record without that key)
                if len(keep) == 0:
                    continue
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.array(np.full(len(keep), f << 32, np.int64)),
                        pa.array(col[keep].view(np.int64)),
                        pa.array(pos[keep]),
                        clk.take(pa.array(keep)),
                    ],
                    names=["tag", "block", "pos", "clk"],
                )

    return s.df.select("pos", "clk", "blocks").mapInArrow(run, _ROWS_SCHEMA)


def _salted(rows: "DataFrame", hot: dict[tuple[int, int], tuple[int, int]], left: bool, partitions: int) -> "DataFrame":
    """Rows with their bucket: a hot block's rows go to cells (this side's row to one cell of
    its side, and to every cell of the other side's), each cell to a bucket by a hash."""

    hot_blocks = np.array(sorted({b for _, b in hot}), dtype=np.int64)

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore

        mul = np.uint64(0x9E3779B97F4A7C15)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            tag = batch.column("tag").to_numpy(zero_copy_only=False).astype(np.int64)
            block = batch.column("block").to_numpy(zero_copy_only=False).astype(np.int64)
            pos = batch.column("pos").to_numpy(zero_copy_only=False).astype(np.int64)
            clk = batch.column("clk")
            idx = np.arange(batch.num_rows)
            out_idx, out_tag = [idx], [tag.copy()]
            if hot:
                # Few blocks are hot: look up only the rows whose block id is one of theirs.
                is_hot = np.isin(block, hot_blocks)
                for i in np.nonzero(is_hot)[0]:
                    is_hot[i] = (int(tag[i]), int(block[i])) in hot
                if is_hot.any():
                    keep = ~is_hot
                    out_idx, out_tag = [idx[keep]], [tag[keep]]
                    for i in np.nonzero(is_hot)[0]:
                        sl, sr = hot[(int(tag[i]), int(block[i]))]
                        if left:
                            cells = [(int(pos[i]) % sl, j) for j in range(sr)]
                        else:
                            cells = [(j, int(pos[i]) % sr) for j in range(sl)]
                        out_idx.append(np.full(len(cells), i))
                        out_tag.append(np.array([int(tag[i]) | (x << 16) | y for x, y in cells], np.int64))
            sel = np.concatenate(out_idx)
            t = np.concatenate(out_tag)
            b = block[sel]
            with np.errstate(over="ignore"):
                h = (b.view(np.uint64) * mul) ^ t.view(np.uint64)
                h ^= h >> np.uint64(29)
                h *= mul
                h ^= h >> np.uint64(32)
            bucket = (h % np.uint64(partitions)).astype(np.int32)
            yield pa.RecordBatch.from_arrays(
                [pa.array(bucket), pa.array(t), pa.array(b), pa.array(pos[sel]), clk.take(pa.array(sel))],
                names=["bucket", "tag", "block", "pos", "clk"],
            )

    return rows.mapInArrow(run, _BUCKET_SCHEMA)


def _blocked_candidates(
    x: SparkEncodings,
    y: Optional[SparkEncodings],
    plan: dict[str, Any],
    *,
    threshold: float,
    block_cap: int,
    partitions: int,
    threads: int,
    keep: Any,
    fail_marker: Optional[str],
) -> tuple["DataFrame", dict[str, Any], "DataFrame", "DataFrame"]:
    """Candidates ``(a, b, score)`` (positions) between ``x`` and ``y``, or within ``x`` when
    ``y`` is None (pairs ``a < b``), each pair once; the block summary; the exploded rows."""
    import pyarrow as pa  # type: ignore
    from pyspark.sql import functions as F

    dedup = y is None
    ra = keep(_explode(x, plan, threads))
    rb = ra if y is None else keep(_explode(y, plan, threads))
    left = ra.groupBy("tag", "block").agg(F.count("*").alias("nl"))
    if dedup:
        sizes = keep(left.filter(F.col("nl") > 1).withColumn("nr", F.col("nl")))
        pairs_expr = F.col("nl") * (F.col("nl") - 1) / 2
    else:
        sizes = keep(left.join(rb.groupBy("tag", "block").agg(F.count("*").alias("nr")), ["tag", "block"]))
        pairs_expr = F.col("nl") * F.col("nr")
    summary = sizes.agg(
        F.count("*").alias("blocks"),
        F.sum(pairs_expr).cast("long").alias("pairs"),
        F.max(F.struct((F.col("nl") * F.col("nr")).alias("p"), "nl", "nr")).alias("largest"),
    ).collect()[0]
    hot: dict[tuple[int, int], tuple[int, int]] = {}
    for r in sizes.filter((F.col("nl") > block_cap) | (F.col("nr") > block_cap)).collect():
        sl = min(_MAX_SALT, math.ceil(r["nl"] / block_cap))
        sr = min(_MAX_SALT, math.ceil(r["nr"] / block_cap))
        hot[(int(r["tag"]), int(r["block"]))] = (sl, sr)
    sa = _salted(ra, hot, True, partitions)
    sb = _salted(rb, hot, False, partitions)
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
            np.ascontiguousarray(_words(left.column("clk"), words)),
            col(right, "block").view(np.uint64),
            col(right, "tag").view(np.uint64),
            np.ascontiguousarray(_words(right.column("clk"), words)),
            threshold=threshold,
            threads=threads,
        )
        ca, cb = col(left, "pos")[li], col(right, "pos")[ri]
        if dedup:  # each unordered pair once, never a record with itself
            m = ca < cb
            ca, cb, s = ca[m], cb[m], s[m]
        return pa.table({"a": ca, "b": cb, "score": s})

    cands = keep(
        sa.groupBy("bucket").cogroup(sb.groupBy("bucket")).applyInArrow(score, _CANDIDATES_SCHEMA).dropDuplicates(["a", "b"])
    )
    info = {
        "blocks": int(summary["blocks"] or 0),
        "pairs": int(summary["pairs"] or 0),
        "largest": [int(summary["largest"]["nl"]), int(summary["largest"]["nr"])] if summary["largest"] else [0, 0],
        "split": len(hot),
        "cells": sum(sl * sr for sl, sr in hot.values()),
    }
    return cands, info, ra, rb


def _filters_of(side: "DataFrame", positions: np.ndarray, words: int) -> np.ndarray:
    """The filters of the records at ``positions`` (sorted, distinct), collected in that order."""
    import pyarrow as pa  # type: ignore
    from pyspark.sql import functions as F

    spark = side.sparkSession
    wanted = spark.createDataFrame(pa.table({"pos": pa.array(positions.astype(np.int64))}))
    got = side.join(F.broadcast(wanted), "pos").select("pos", "clk").toArrow()
    order = np.argsort(got.column("pos").to_numpy())
    return np.ascontiguousarray(_words(got.column("clk"), words)[order])


def match(
    a: SparkEncodings,
    b: Optional[SparkEncodings] = None,
    *more: SparkEncodings,
    threshold: float = 0.8,
    blocking: Union[str, Sequence[str], None] = None,
    solver: str = "greedy",
    clustering: str = "average",
    lsh_tables: Optional[int] = None,
    lsh_bits: Optional[int] = None,
    block_cap: int = 4096,
    candidate_cap: int = 20_000_000,
    partitions: Optional[int] = None,
    truth: Union["DataFrame", Sequence[tuple[str, str]], None] = None,
    threads: Optional[int] = None,
    _fail_once: Optional[PathLike] = None,
) -> SparkMatch:
    """Matches as ``pprl match FILE... -t THRESHOLD --blocking ... --solver ... --cluster ...``
    does, on Spark: the same result for any number of partitions and executors. One party
    (``b`` None): its duplicates, as clusters ``(cluster, id)`` (with ``solver="none"``: every
    pair ``a_id, b_id, score``); two: links ``a_id, b_id, score`` in the solver's order; three
    or more: clusters ``(cluster, party, id)``, at most one record per party, from the
    candidates of every pair of parties (each pair blocked as the CLI blocks it).
    ``clustering``: ``"average"`` (the CLI's default) or ``"components"``.

    ``blocking``: ``"keys"``, ``"lsh"``, ``"auto"`` or a list of them, as ``pprl match
    --blocking`` (``None``: every pair, which Spark still splits into cells of ``block_cap``
    records a side); LSH parameters are derived from the data as the CLI derives them
    (``lsh_tables``/``lsh_bits`` override them as ``--lsh-tables``/``--lsh-bits``; one collision
    suffices). ``block_cap``: records a side beyond which a block is split into cells, so no
    task holds an unbounded block (a cell holds at most ``block_cap`` x ``block_cap`` pairs;
    nothing is dropped). ``partitions``: buckets of blocks compared per task (default
    ``spark.sql.shuffle.partitions``). ``candidate_cap``: the most distinct candidate pairs
    solved on the driver (more raise ``pprl.MatchError``: raise the threshold or the cap).
    ``truth``: true ``(a_id, b_id)`` pairs (a list, or a DataFrame of two id columns) for the
    report's pair completeness (two parties). ``threads``: per pprl call inside a task
    (default ``spark.task.cpus``). A fixed threshold only.
    """
    _require_spark()
    import pyarrow as pa  # type: ignore
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if isinstance(threshold, str) or not (0.0 <= float(threshold) <= 1.0):
        raise ValueError("threshold must be a number in 0..=1 (\"auto\" is not available on Spark yet)")
    if solver not in ("greedy", "optimal", "none"):
        raise ValueError('solver must be "greedy", "optimal" or "none"')
    if clustering not in ("average", "components"):
        raise ValueError('clustering must be "average" or "components"')
    if block_cap < 1:
        raise ValueError("block_cap must be at least 1")
    parties = [a] + ([] if b is None else [b]) + list(more)
    if b is None and more:
        raise ValueError("give the parties in order: b before the others")
    for other in parties[1:]:
        _check(a, other)
    spark = a.df.sparkSession
    threads = threads or session_threads(spark)
    partitions = partitions or int(spark.conf.get("spark.sql.shuffle.partitions", "200") or "200")
    threshold = float(threshold)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - started, 3)
        started = now

    persisted: list[Any] = []

    def keep(df: "DataFrame") -> "DataFrame":
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        persisted.append(df)
        return df

    def release() -> None:
        for df in persisted:
            if all(df is not s.df for s in sides):
                df.unpersist()

    sides = [SparkEncodings(keep(x.df), x.bits, x.block_keys, x.schema_fingerprint, x.key_fingerprint) for x in parties]
    stats = [_side_stats(s) for s in sides]
    requested = [] if blocking is None else [blocking] if isinstance(blocking, str) else list(blocking)
    dedup = len(sides) == 1
    pairs_of: list[tuple[int, Optional[int]]] = [(0, None)] if dedup else [(i, j) for i in range(len(sides)) for j in range(i + 1, len(sides))]
    plans = []
    for i, j in pairs_of:
        (ni, oi), (nj, oj) = stats[i], stats[i if j is None else j]
        plan = _pprl.blocking_plan(
            ni, nj, words=a.words, bits_set=oi + (0 if j is None else oj), key_count=a.block_keys,
            key_fingerprint=a.key_fingerprint, threshold=threshold, blocking=requested,
            lsh_tables=lsh_tables, lsh_bits=lsh_bits, dedup=j is None,
        )
        if plan["lsh"] is not None and plan["lsh"][2] != 1:
            raise ValueError("pprl.spark compares pairs that collide once (lambda 1) only")
        plans.append(plan)
    lap("stats")

    fail_marker = os.fspath(_fail_once) if _fail_once is not None else None
    found_parts, infos, exploded = [], [], []
    for (i, j), plan in zip(pairs_of, plans):
        cands, info, ra, rb = _blocked_candidates(
            sides[i], None if j is None else sides[j], plan, threshold=threshold, block_cap=block_cap,
            partitions=partitions, threads=threads, keep=keep, fail_marker=fail_marker,
        )
        lap("blocks")
        found = cands.count()
        lap("compare")
        found_parts.append((cands, found))
        infos.append(info)
        exploded.append((ra, rb))
    found = sum(f for _, f in found_parts)
    if found > candidate_cap:
        release()
        e = pprl.MatchError(
            f"{found} candidate pairs exceed candidate_cap={candidate_cap}: raise the threshold, "
            "tighten the blocking or raise the cap (the driver holds them all)"
        )
        e.code = "match-candidate-cap"
        raise e
    got = [c.toArrow() if f else None for c, f in found_parts]
    lap("collect")

    def arrays(t: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if t is None or t.num_rows == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
        return t.column("a").to_numpy(), t.column("b").to_numpy(), np.ascontiguousarray(t.column("score").to_numpy(), dtype=np.float64)

    links = clusters = None
    n_links = 0
    if len(sides) == 2 or (dedup and solver == "none"):
        ca, cb, cs = arrays(got[0])
        ua, ia = np.unique(ca, return_inverse=True)
        ub, ib = np.unique(cb, return_inverse=True)
        la, lb, ls = _pprl.solve_pairs(ia.astype(np.uint32), ib.astype(np.uint32), cs, solver="none" if dedup else solver)
        link_a, link_b = ua[la.astype(np.int64)], ub[lb.astype(np.int64)]
        lap("solve")
        n_links = len(link_a)
        local = pa.table({"rank": np.arange(n_links, dtype=np.int64), "a_pos": link_a.astype(np.int64), "b_pos": link_b.astype(np.int64), "score": pa.array(ls, pa.float64())})
        second = sides[0 if dedup else 1].df
        links = (
            spark.createDataFrame(local, schema="rank long, a_pos long, b_pos long, score double")
            .join(sides[0].df.select(F.col("pos").alias("a_pos"), F.col("id").alias("a_id")), "a_pos")
            .join(second.select(F.col("pos").alias("b_pos"), F.col("id").alias("b_id")), "b_pos")
            .select("rank", "a_id", "b_id", "score")
        )
    elif dedup:
        ca, cb, cs = arrays(got[0])
        u, inv = np.unique(np.concatenate([ca, cb]), return_inverse=True)
        filters = _filters_of(sides[0].df, u, a.words) if clustering == "average" else np.zeros((len(u), a.words), np.uint64)
        k, r = _pprl.dedup_clusters(
            inv[: len(ca)].astype(np.uint32), inv[len(ca):].astype(np.uint32), cs, filters,
            threshold=threshold, clustering=clustering,
        )
        lap("solve")
        n_links = len(k)
        local = pa.table({"rank": np.arange(len(k), dtype=np.int64), "cluster": k.astype(np.int64), "pos": u[r.astype(np.int64)].astype(np.int64)})
        clusters = (
            spark.createDataFrame(local, schema="rank long, cluster long, pos long")
            .join(sides[0].df.select("pos", "id"), "pos")
            .select("rank", "cluster", "id")
        )
    else:
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("pa", "a", "pb", "b", "s")}
        for (i, j), t in zip(pairs_of, got):
            ca, cb, cs = arrays(t)
            cols["pa"].append(np.full(len(ca), i, np.uint16))
            cols["pb"].append(np.full(len(ca), j, np.uint16))
            cols["a"].append(ca)
            cols["b"].append(cb)
            cols["s"].append(cs)
        party_a, party_b = np.concatenate(cols["pa"]), np.concatenate(cols["pb"])
        pos_a, pos_b, cs = np.concatenate(cols["a"]), np.concatenate(cols["b"]), np.concatenate(cols["s"])
        index_a, index_b = np.zeros(len(pos_a), np.uint32), np.zeros(len(pos_b), np.uint32)
        known, blocks, offsets = [], [], [0]
        for p in range(len(sides)):  # each party's clustered records, renumbered in file order
            ma, mb = party_a == p, party_b == p
            u, inv = np.unique(np.concatenate([pos_a[ma], pos_b[mb]]), return_inverse=True)
            index_a[ma], index_b[mb] = inv[: ma.sum()], inv[ma.sum():]
            known.append(u)
            blocks.append(_filters_of(sides[p].df, u, a.words) if clustering == "average" else np.zeros((0, a.words), np.uint64))
            offsets.append(offsets[-1] + len(blocks[-1]))
        k, pp, r = _pprl.party_clusters(
            party_a, index_a, party_b, index_b, np.ascontiguousarray(cs, dtype=np.float64),
            np.ascontiguousarray(np.concatenate(blocks)), np.array(offsets[:-1], np.uint64),
            threshold=threshold, clustering=clustering,
        )
        lap("solve")
        n_links = len(k)
        pos = np.zeros(len(k), np.int64)
        for p in range(len(sides)):
            m = pp == p
            pos[m] = known[p][r[m].astype(np.int64)]
        local = pa.table({"rank": np.arange(len(k), dtype=np.int64), "cluster": k.astype(np.int64), "party": pp.astype(np.int64), "pos": pos})
        ids = sides[0].df.select("pos", "id").withColumn("party", F.lit(0).cast("long"))
        for p in range(1, len(sides)):
            part = sides[p].df.select("pos", "id").withColumn("party", F.lit(p).cast("long"))
            ids = ids.unionByName(part)
        clusters = (
            spark.createDataFrame(local, schema="rank long, cluster long, party long, pos long")
            .join(ids, ["party", "pos"])
            .select("rank", "cluster", "party", "id")
        )

    records = [n for n, _ in stats]
    total = records[0] * (records[0] - 1) // 2 if dedup else sum(stats[i][0] * stats[j][0] for i, j in pairs_of if j is not None)
    in_blocks = sum(x["pairs"] for x in infos)
    largest = max((x["largest"] for x in infos), key=lambda size: size[0] * size[1])
    report: dict[str, Any] = {
        "records": records,
        "total_pairs": total,
        "blocks": sum(x["blocks"] for x in infos),
        "pairs_in_blocks": in_blocks,
        "reduction_ratio": (1.0 - in_blocks / total) if total else 0.0,
        "largest_block": largest,
        "split_blocks": sum(x["split"] for x in infos),
        "cells": sum(x["cells"] for x in infos),
        "candidates": found,
        "links" if links is not None else "clustered": n_links,
        "partitions": partitions,
    }
    if truth is not None and len(sides) == 2:
        ra, rb = exploded[0]
        report["pair_completeness"], report["true_pairs"] = _pair_completeness(spark, truth, sides[0].df, sides[1].df, ra, rb)
    lap("report")
    release()
    return SparkMatch(links, threshold, dict(plans[0]), report, timings, clusters=clusters, plans=[dict(p) for p in plans])


def _pair_completeness(
    spark: "SparkSession", truth: Any, ea: "DataFrame", eb: "DataFrame", ra: "DataFrame", rb: "DataFrame"
) -> tuple[Optional[float], int]:
    """The share of true pairs found in both files that share a block (any function)."""
    from pyspark.sql import functions as F

    if not hasattr(truth, "sparkSession"):
        truth = spark.createDataFrame([(str(x), str(y)) for x, y in truth], "a_id string, b_id string")
    t = truth.toDF("a_id", "b_id")
    pairs = (
        t.join(ea.select(F.col("id").alias("a_id"), F.col("pos").alias("a_pos")), "a_id")
        .join(eb.select(F.col("id").alias("b_id"), F.col("pos").alias("b_pos")), "b_id")
        .select("a_pos", "b_pos")
        .distinct()
    )
    n = pairs.count()
    if n == 0:
        return None, 0
    covered = (
        pairs.join(ra.select("tag", "block", F.col("pos").alias("a_pos")), "a_pos")
        .join(rb.select("tag", "block", F.col("pos").alias("b_pos")), ["tag", "block", "b_pos"])
        .select("a_pos", "b_pos")
        .distinct()
        .count()
    )
    return covered / n, n
