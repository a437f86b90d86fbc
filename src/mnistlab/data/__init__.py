"""Getting the data: verified IDX reading, download, loading (what the data sets are: catalog.py)."""

from mnistlab.data.catalog import (
    DATASETS,
    FILE_STEMS,
    data_checksum,
    file_checksums,
    info,
    other,
)
from mnistlab.data.files import (
    check_all,
    check_file,
    default_cache_root,
    ensure_file,
    load_split,
    resolve_data_dir,
    verify_split,
)
from mnistlab.data.idx import parse_idx, read_bytes

__all__ = [
    "check_all",
    "DATASETS",
    "FILE_STEMS",
    "check_file",
    "data_checksum",
    "default_cache_root",
    "ensure_file",
    "file_checksums",
    "info",
    "load_split",
    "other",
    "parse_idx",
    "read_bytes",
    "resolve_data_dir",
    "verify_split",
]
