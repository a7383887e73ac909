"""The figures `make container-test` reports: what is said for what was measured, and sizes as a registry counts."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from scripts.container_test import Figures, _compressed_size


def test_only_what_was_measured_is_reported() -> None:
    assert Figures().lines() == []
    lines = Figures(
        build_seconds=33.4,
        size_bytes=207_100_000,
        compressed_bytes=70_700_000,
        own_size_bytes=16_100_000,
        own_compressed_bytes=5_600_000,
        first_request_seconds=3.2,
        empty_container_seconds=2.9,
    ).lines()
    assert lines == [
        "image size, uncompressed: 207.1 MB (the action's layers: 16.1 MB)",
        "image size, compressed as a registry stores it: 70.7 MB (the action's layers: 5.6 MB)",
        "container start to the first request to dbt Cloud: 3.20 s (an empty container of the image: 2.90 s to start "
        "and stop)",
        "image build, which a prebuilt image saves every job: 33 s",
    ]


def blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}"


def test_a_gzip_layer_counts_as_pushed_and_a_raw_one_as_gzip_would_store_it(tmp_path: Path) -> None:
    raw = b"the same line again\n" * 50_000
    packed = gzip.compress(raw)
    as_pushed = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": len(packed)}
    assert _compressed_size(tmp_path, {**as_pushed, "digest": blob(tmp_path, packed)}) == len(packed)
    plain = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(raw), "digest": blob(tmp_path, raw)}
    size = _compressed_size(tmp_path, plain)
    assert 0 < size < len(raw) // 50
    assert abs(size - len(gzip.compress(raw, compresslevel=6))) < 64
