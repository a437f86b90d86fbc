"""The IDX parser stands alone: whatever the bytes, it returns an array or raises DataError."""

import struct

import numpy as np
import pytest

from mnistlab.data.idx import parse_idx
from mnistlab.errors import DataError

from synthetic import idx_bytes

SEEDS = range(400)


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One seeded mutation: truncate, flip bytes, rewrite the header, splice, or pure noise."""
    kind = rng.integers(7)
    buffer = bytearray(data)
    if kind == 0:  # truncated anywhere, the header included (8-15 byte headers among them)
        return bytes(buffer[: rng.integers(0, len(buffer))])
    if kind == 1:  # random bytes changed
        for i in rng.integers(0, len(buffer), rng.integers(1, 8)):
            buffer[i] = rng.integers(256)
        return bytes(buffer)
    if kind == 2:  # the magic number's dimension count changed
        buffer[3] = rng.integers(256)
        return bytes(buffer)
    if kind == 3:  # huge or zero dimensions (their product overflows int64)
        dims = rng.choice([0, 1, 2**31, 2**32 - 1, int(rng.integers(2**32))], size=3)
        return bytes(buffer[:4]) + struct.pack(">3I", *dims) + bytes(buffer[16:])
    if kind == 4:  # bytes appended
        return bytes(buffer) + bytes(rng.integers(0, 256, rng.integers(1, 50), dtype=np.uint8))
    if kind == 5:  # a valid magic with a short header
        return struct.pack(">I", 0x00000803) + bytes(
            rng.integers(0, 256, rng.integers(0, 12), dtype=np.uint8)
        )
    return bytes(rng.integers(0, 256, rng.integers(0, 64), dtype=np.uint8))


@pytest.mark.parametrize("seed", SEEDS)
def test_only_data_error_escapes(seed):
    rng = np.random.default_rng(seed)
    valid = idx_bytes(rng.integers(0, 256, (3, 4, 5)))
    data = mutate(valid, rng)
    try:
        array = parse_idx(data, name="fuzz")
    except DataError as error:
        assert "\n" not in str(error)
        return
    # Accepted: the bytes must really be a consistent IDX file.
    assert array.dtype == np.uint8 and array.size == len(data) - 4 - 4 * array.ndim


def test_valid_file_round_trips():
    array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)
