"""Type stubs of pprl's native module (checked against it by `python -m mypy.stubtest pprl._pprl`)."""

import os
from typing import Any, Literal, Mapping, Optional, Sequence, Union, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "EncodingFileError",
    "Encodings",
    "FORMAT_VERSION",
    "InputError",
    "KeyMismatchError",
    "Links",
    "MatchError",
    "OutputError",
    "PprlError",
    "Schema",
    "SchemaError",
    "SchemaMismatchError",
    "SecretError",
    "__version__",
    "encode",
    "evaluate",
    "forked_after_threads",
    "match",
]

__version__: str
FORMAT_VERSION: int

_Path = Union[str, os.PathLike[str]]

class PprlError(Exception):
    code: str
    path: Optional[str]
    row: Optional[int]
    line: Optional[int]
    field: Optional[str]

class SchemaError(PprlError): ...
class SecretError(PprlError): ...
class InputError(PprlError): ...
class EncodingFileError(PprlError): ...
class OutputError(PprlError): ...
class MatchError(PprlError): ...
class KeyMismatchError(MatchError): ...
class SchemaMismatchError(MatchError): ...

@final
class Schema:
    @staticmethod
    def load(path: _Path) -> Schema: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def id_column(self) -> str: ...
    @property
    def columns(self) -> list[str]: ...

@final
class Encodings:
    @staticmethod
    def read(path: _Path) -> Encodings: ...
    def write(
        self,
        path: _Path,
        format: Literal["clk", "clkhash-json", "anonlink-binary"] = "clk",
    ) -> None: ...
    @property
    def ids(self) -> list[str]: ...
    @property
    def rows(self) -> Optional[list[int]]: ...
    @property
    def bits(self) -> int: ...
    @property
    def schema_fingerprint(self) -> str: ...
    @property
    def key_fingerprint(self) -> str: ...
    @property
    def rejects(self) -> list[dict[str, Any]]: ...
    @property
    def counts(self) -> dict[str, int]: ...
    def to_numpy(self) -> npt.NDArray[np.uint64]: ...
    def __len__(self) -> int: ...

@final
class Links:
    @property
    def a_ids(self) -> list[str]: ...
    @property
    def b_ids(self) -> list[str]: ...
    @property
    def scores(self) -> Optional[npt.NDArray[np.float64]]: ...
    @property
    def clusters(self) -> list[list[str]]: ...
    @property
    def threshold(self) -> float: ...
    def report_json(self) -> str: ...
    def to_pydict(self) -> dict[str, list[Any]]: ...
    def write_csv(self, path: _Path) -> None: ...
    def __len__(self) -> int: ...

def encode(
    data: Union[_Path, Mapping[str, Sequence[Optional[str]]]],
    schema: Schema,
    *,
    secret_file: _Path,
    threads: Optional[int] = None,
) -> Encodings: ...
def match(
    a: Encodings,
    b: Optional[Encodings] = None,
    *,
    threshold: Union[float, Literal["auto"]] = 0.8,
    solver: Literal["greedy", "optimal", "none"] = "greedy",
    blocking: Optional[Sequence[str]] = None,
    scores: bool = True,
    threads: Optional[int] = None,
) -> Links: ...
def evaluate(truth: Union[_Path, Sequence[tuple[str, str]]], links: Links) -> dict[str, Any]: ...
def forked_after_threads() -> bool: ...
