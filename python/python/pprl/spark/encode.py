"""Encodings into Spark: :func:`encode` (a DataFrame of an export, encoded on the executors
with ``mapInArrow``) and :func:`from_encodings` (local :class:`pprl.Encodings` or a file).

In: a Spark DataFrame of an export and the schema and secret *files*, or local encodings; out:
:class:`SparkEncodings` (``pos``, ``id``, ``clk``, ``blocks``) and, for :func:`encode`, the
rejected rows. The secret reaches executors as a file (see the package docs), never as a task
argument or a broadcast string.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

import numpy as np

import pprl

from ._common import ENCODED_SCHEMA, ENCODINGS_SCHEMA, PathLike, SparkEncodings, encodings_table, require_spark, session_threads

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

def from_encodings(
    spark: "SparkSession", encodings: Union[pprl.Encodings, PathLike], *, partitions: Optional[int] = None
) -> SparkEncodings:
    """Local encodings (:class:`pprl.Encodings` or an encoding file's path) as
    :class:`SparkEncodings`, in ``partitions`` partitions (default: Spark's)."""
    require_spark()
    enc = encodings if isinstance(encodings, pprl.Encodings) else pprl.Encodings.read(encodings)
    table = encodings_table(enc, np.arange(len(enc)))
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
    require_spark()
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
            t = encodings_table(enc, pos[rows])
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

    out = source.mapInArrow(run, ENCODED_SCHEMA)
    encodings = out.filter(F.col("clk").isNotNull()).select("pos", "id", "clk", "blocks")
    rejects = out.filter(F.col("clk").isNull()).select(
        "pos", F.col("id").alias("record_id"), "field", "code", "reason"
    )
    header = SparkEncodings(
        encodings, probe.bits, probe.block_keys, probe.schema_fingerprint, probe.key_fingerprint
    )
    return header, rejects
