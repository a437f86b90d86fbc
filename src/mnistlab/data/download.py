"""Download a missing IDX file from the public mirrors, verify it, move it into place atomically."""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.request
from pathlib import Path

from mnistlab import progress
from mnistlab.data.idx import parse_idx, read_bytes
from mnistlab.datasets import info
from mnistlab.errors import DataError
from mnistlab.runs import atomic_path

RETRIES_PER_MIRROR = 3
TIMEOUT_SECONDS = 30
CHUNK = 1 << 16


def _fetch(url: str, destination: Path, description: str) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "mnistlab"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with open(destination, "wb") as out, progress.task(description, total) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.advance(len(chunk))


def download_file(
    dataset: str, stem: str, data_dir: Path, *, mirrors=None, retry_delay: float = 1.0
) -> Path:
    """Fetch STEM.gz into DATA_DIR/DATASET/, trying each mirror a few times; verify the SHA-256."""
    meta = info(dataset)
    mirrors = tuple(mirrors or meta.mirrors)
    target = Path(data_dir) / dataset / f"{stem}.gz"
    failures: dict[str, str] = {}  # mirror -> its last error
    for base in mirrors:
        url = base.rstrip("/") + f"/{stem}.gz"
        for attempt in range(1, RETRIES_PER_MIRROR + 1):
            try:
                with atomic_path(target) as tmp:
                    _fetch(url, tmp, f"download {dataset}/{stem}.gz")
                    data = read_bytes(tmp)
                    digest = hashlib.sha256(data).hexdigest()
                    if digest != meta.sha256[stem]:
                        # A wrong file will not get better on retry: go to the next mirror.
                        raise _BadContent(f"SHA-256 mismatch ({digest[:12]}...)")
                    parse_idx(data, name=url)
                progress.say(f"downloaded {url} -> {target}")
                return target
            except _BadContent as exc:
                failures[base] = f"{url}: {exc}"
                break
            except DataError as exc:
                failures[base] = f"{url}: {exc}"
                break
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                failures[base] = f"{url} ({attempt} tries): {exc}"
                if isinstance(exc, urllib.error.HTTPError) and exc.code == 404:
                    break
                if attempt < RETRIES_PER_MIRROR:
                    time.sleep(retry_delay * attempt)
    raise DataError(
        f"could not download {dataset}/{stem}.gz from any mirror ({'; '.join(failures.values())}); "
        f"copy the file into {target.parent} by hand or set --data-dir / MNISTLAB_DATA_DIR"
    )


class _BadContent(Exception):
    pass
