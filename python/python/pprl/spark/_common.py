"""What every part of :mod:`pprl.spark` shares: the DataFrame schemas, the two result types,
the check that two parties' encodings can be matched, and Arrow <-> NumPy helpers.

In: Arrow columns and :class:`pprl.Encodings`; out: NumPy word arrays, Arrow tables of
encodings (``pos``, ``id``, ``clk``, ``blocks``), :class:`SparkEncodings` and
:class:`SparkMatch`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

import pprl

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

PathLike = Union[str, "os.PathLike[str]"]

ENCODINGS_SCHEMA = "pos long, id string, clk binary, blocks array<long>"
ENCODED_SCHEMA = ENCODINGS_SCHEMA + ", field string, code string, reason string"
COUNTS_SCHEMA = "tag long, block long, n long"
KEYS_SCHEMA = "tag long, block long, pos long"
BUCKET_SCHEMA = "bucket int, tag long, block long, pos long, clk binary"
CANDIDATES_SCHEMA = "a long, b long, score double"
# Cells per hot block and side: the cell number takes 16 bits of a row's tag.
MAX_SALT = 65535


def require_spark() -> None:
    """Raises ``ImportError`` unless PySpark >= 4.0 is importable."""
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
    """The result of :func:`pprl.spark.match`: ``links`` (a DataFrame ``a_id``, ``b_id``,
    ``score`` in the solver's order, column ``rank`` from 0) or, for one party or three and
    more, ``clusters`` (``cluster``, [``party``,] ``id``, with ``rank``), the threshold (the
    chosen one for ``threshold="auto"``, whose choice is in ``auto``), the blocking used (of
    the first pair of parties; ``plans``: of each pair), the block report and the seconds each
    stage took (summed over the pairs of parties)."""

    links: Optional["DataFrame"]
    threshold: float
    blocking: dict[str, Any]
    report: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    clusters: Optional["DataFrame"] = None
    plans: list[dict[str, Any]] = field(default_factory=list)
    auto: Optional[dict[str, Any]] = None

    def to_arrow(self) -> Any:
        """The links (or clusters) as a ``pyarrow.Table`` (collected to the driver), in the
        order ``pprl match`` writes them."""
        df = self.links if self.links is not None else self.clusters
        assert df is not None
        return df.orderBy("rank").drop("rank").toArrow()


def words_of(col: Any, words: int) -> np.ndarray:
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


def encodings_table(enc: pprl.Encodings, pos: np.ndarray) -> Any:
    """``enc`` as an Arrow table of :data:`ENCODINGS_SCHEMA`, record ``i`` at position ``pos[i]``."""
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


def check_compatible(a: SparkEncodings, b: SparkEncodings) -> None:
    """Raises pprl's errors (codes ``match-key-mismatch``, ``match-schema-mismatch``) unless
    ``a`` and ``b`` were made with the same secret and schema."""
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
