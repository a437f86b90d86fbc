import gzip

import numpy as np
import pytest

from mnistlab import data
from mnistlab.data.catalog import FILE_STEMS
from mnistlab.data.files import scale_pixels
from mnistlab.data.idx import parse_idx
from mnistlab.errors import DataError

from synthetic import idx_bytes, patch_checksums, write_dataset


def test_parse_idx_round_trip():
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(array)), array)


def test_parse_idx_rejects_wrong_magic():
    raw = bytearray(idx_bytes(np.zeros(5, np.uint8)))
    raw[3] = 0x07
    with pytest.raises(DataError, match="wrong IDX magic"):
        data.parse_idx(bytes(raw))


def test_parse_idx_rejects_truncated_payload():
    raw = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match="truncated"):
        data.parse_idx(raw[:-10])


def test_load_split_reads_gzip_and_plain_files(tmp_path, monkeypatch):
    for compress in (True, False):
        root = tmp_path / str(compress)
        sums = write_dataset(root, "mnist", n_train=20, n_test=10, compress=compress)
        patch_checksums(monkeypatch, "mnist", sums)
        images, labels = data.load_split("mnist", "test", root, download=False)
        assert images.shape == (10, 28, 28) and images.dtype == np.float32
        assert images.min() >= 0.0 and images.max() <= 1.0
        assert labels.shape == (10,) and labels.dtype == np.int32
    # Pixels scaled as x / 255 in float32, the textbook way, bit for bit (every byte value too).
    raw = parse_idx((tmp_path / "False" / "mnist" / "t10k-images-idx3-ubyte").read_bytes())
    np.testing.assert_array_equal(images, raw.astype(np.float32) / 255.0)
    every_byte = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(scale_pixels(every_byte), every_byte.astype(np.float32) / 255.0)


def test_wrong_checksum_names_the_file(tmp_path, monkeypatch):
    sums = write_dataset(tmp_path, "mnist", n_train=20, n_test=10)
    patch_checksums(monkeypatch, "mnist", {**sums, "t10k-labels-idx1-ubyte": "0" * 64})
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: SHA-256"):
        data.load_split("mnist", "test", tmp_path, download=False)


def test_truncated_gzip_is_a_data_error(tmp_path, monkeypatch):
    sums = write_dataset(tmp_path, "mnist", n_train=20, n_test=10)
    patch_checksums(monkeypatch, "mnist", sums)
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="cannot be read or decompressed"):
        data.load_split("mnist", "test", tmp_path, download=False)


def test_wrong_header_is_named_before_the_hash(tmp_path, monkeypatch):
    """A file with a wrong magic number also fails the hash; the header is the real problem."""
    sums = write_dataset(tmp_path, "mnist", n_train=20, n_test=10)
    patch_checksums(monkeypatch, "mnist", sums)
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[2] = 0x0D  # magic 0x00000d01: not an IDX file
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="wrong IDX magic number"):
        data.load_split("mnist", "test", tmp_path, download=False)


def test_folder_where_a_file_should_be(tmp_path):
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").mkdir(parents=True)
    with pytest.raises(DataError, match="is a folder, not a data file"):
        data.load_split("mnist", "test", tmp_path, download=False)


def test_missing_file_without_download_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="mnistlab data --download"):
        data.load_split("mnist", "test", tmp_path / "nowhere", download=False)


def test_check_file_reports_ok_missing_corrupt(tmp_path, monkeypatch):
    sums = write_dataset(tmp_path, "mnist", n_train=20, n_test=10)
    patch_checksums(monkeypatch, "mnist", sums)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(b"\x00\x00\x08\x01junk")
    )
    states = {stem: data.check_file(tmp_path, "mnist", stem).state for stem in FILE_STEMS.values()}
    assert states == {
        "train-images-idx3-ubyte": "ok",
        "train-labels-idx1-ubyte": "missing",
        "t10k-images-idx3-ubyte": "ok",
        "t10k-labels-idx1-ubyte": "corrupt",
    }


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(tmp_path / "env"))
    assert data.resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert data.resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv("MNISTLAB_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.resolve_data_dir(None) == tmp_path / "xdg" / "mnistlab" / "data"


def test_real_data_matches_published_checksums(real_data_dir):
    for name in ("mnist", "fashion-mnist"):
        images, labels = data.load_split(name, "test", real_data_dir, download=False)
        assert images.shape == (10_000, 28, 28)
        assert np.bincount(labels, minlength=10).min() > 800


def test_a_file_is_hashed_once_per_version(tmp_path, monkeypatch):
    """The stamp: verified once, then trusted while size and mtime stay; re-checked after."""
    import os

    from mnistlab.data import idx, stamps

    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(tmp_path / "cache"))
    sums = write_dataset(tmp_path / "d", "mnist", n_train=20, n_test=10)
    patch_checksums(monkeypatch, "mnist", sums)
    hashed = []
    real_check = idx._check_hash
    monkeypatch.setattr(idx, "_check_hash", lambda *a: hashed.append(a[1]) or real_check(*a))
    path = tmp_path / "d" / "mnist" / f"{FILE_STEMS[('test', 'labels')]}.gz"

    data.verify_split("mnist", "test", tmp_path / "d", download=False)
    assert len(hashed) == 2  # images and labels, first time
    assert stamps.is_stamped(path, sums[FILE_STEMS[("test", "labels")]])
    idx.verified_array_cached.cache_clear()  # as a new process would start
    data.verify_split("mnist", "test", tmp_path / "d", download=False)
    assert len(hashed) == 2  # stamped: a check without loading (a cache hit) hashes nothing
    data.load_split("mnist", "test", tmp_path / "d", download=False)
    assert len(hashed) == 4  # loading hashes what it read, whatever the stamp says

    # Another version of the file (new bytes, new mtime) is checked, and fails.
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="does not match the published"):
        data.verify_split("mnist", "test", tmp_path / "d", download=False)

    # A damaged stamp is a file not yet verified: hashed again, the stamp rewritten.
    write_dataset(tmp_path / "d", "mnist", n_train=20, n_test=10)
    os.utime(path, ns=(1, 1))
    data.verify_split("mnist", "test", tmp_path / "d", download=False)
    stamp_file = stamps._stamp_path(path)
    stamp_file.write_text("{not json")
    idx.verified_array_cached.cache_clear()
    before = len(hashed)
    data.verify_split("mnist", "test", tmp_path / "d", download=False)
    assert len(hashed) == before + 1 and stamps.is_stamped(
        path, sums[FILE_STEMS[("test", "labels")]]
    )


def test_a_swapped_file_with_its_mtime_restored_is_caught(tmp_path, monkeypatch):
    """Issue 27: MNIST's and Fashion-MNIST's files have equal sizes; swapping two and restoring
    their mtimes passed the stamp, and a model trained on the other data set."""
    import os

    from mnistlab.data import idx

    sums = {
        name: write_dataset(tmp_path / "d", name, n_train=20, n_test=10, seed=seed, compress=False)
        for seed, name in enumerate(("mnist", "fashion-mnist"))
    }
    for name, file_sums in sums.items():
        patch_checksums(monkeypatch, name, file_sums)
    for name in sums:  # both verified and stamped, as after a first run
        data.verify_split(name, "test", tmp_path / "d", download=False)
    stem = FILE_STEMS[("test", "labels")]
    a, b = (tmp_path / "d" / name / stem for name in sums)
    times = {path: (path.stat().st_atime_ns, path.stat().st_mtime_ns) for path in (a, b)}
    assert a.stat().st_size == b.stat().st_size
    a.rename(tmp_path / "swap")
    b.rename(a)
    (tmp_path / "swap").rename(b)
    for path, ns in times.items():
        os.utime(path, ns=ns)  # sizes and mtimes exactly as stamped
    idx.verified_array_cached.cache_clear()
    data.files._scaled_split.cache_clear()
    with pytest.raises(DataError, match="does not match the published"):
        data.verify_split("mnist", "test", tmp_path / "d", download=False)
    with pytest.raises(DataError, match="does not match the published"):
        data.load_split("mnist", "test", tmp_path / "d", download=False)


def test_decompression_stops_at_what_the_header_promises(tmp_path):
    """Issue 27: a small gzip file that inflated to 2 GB was read whole before the header check."""
    import struct

    bomb = tmp_path / "bomb.gz"  # a header promising 2 GB of images
    bomb.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 2_000_000, 28, 28) + bytes(1000)))
    with pytest.raises(DataError, match="promises 1,568,000,016 bytes, more than any MNIST file"):
        data.read_bytes(bomb)
    long = tmp_path / "long.gz"  # 10 images promised, 20 MB of zeros after them
    long.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 10, 28, 28) + bytes(20_000_000)))
    assert len(data.read_bytes(long)) == 16 + 10 * 784 + 1  # one byte more: "longer than promised"
    with pytest.raises(DataError, match="promises 7856 bytes"):
        data.parse_idx(data.read_bytes(long), name="long.gz")
