"""pprl on Apache Spark: encode exports and match encodings past one machine.

Spark schedules, shuffles, retries lost tasks and handles skew; pprl supplies the encoder, the
block-pair kernel and the solver (the same library code as the ``pprl`` command, so the links
are those of ``pprl match`` with the same blocking, for any number of partitions or
executors). Needs PySpark >= 4.0 and pyarrow (``pip install 'pprl[spark]'``).

* :func:`encode`: a Spark DataFrame of an export -> :class:`SparkEncodings` (and the rejected
  rows), with ``mapInArrow``; the secret reaches the executors as a *file*
  (``SparkContext.addFile``), never as a task argument or a broadcast string.
* :func:`from_encodings`: local :class:`pprl.Encodings` (e.g. ``.clk`` files) -> Spark.
* :func:`match`: one, two or more parties' encodings -> links or clusters, as a DataFrame,
  with the block report and the time of each stage: block sizes are counted (a plain count of
  ``(block function, block)``), records are exploded into ``(block, position, filter)`` rows
  (keyed blocking keys and LSH bands, as ``pprl match --blocking`` plans them), blocks larger
  than ``block_cap`` on a side are split into cells (salting: the other side's rows are
  replicated to every cell), blocks are hashed into buckets and each bucket pair is compared
  in one call of pprl's kernel (``cogroup(...).applyInArrow``), pairs found in several blocks
  are dropped, and the candidates are solved on the driver (at most ``candidate_cap`` of
  them).

Modules: :mod:`._common` (types, schemas), :mod:`.encode`, :mod:`.blocks` (the distributed
candidate search), :mod:`.cluster` (solving on the
driver), :mod:`.match`.

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

from ._common import ENCODINGS_SCHEMA, SparkEncodings, SparkMatch, session_threads
from ._common import encodings_table as _encodings_table  # noqa: F401 (python/bench/spark_scale.py)
from .encode import encode, from_encodings
from .match import match

__all__ = ["ENCODINGS_SCHEMA", "SparkEncodings", "SparkMatch", "encode", "from_encodings", "match", "session_threads"]
