"""Output folders, atomic writes and the provenance recorded next to every result."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    A crash or Ctrl-C leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's process id is in the name, so a later run can tell a leftover of a killed
    # run (removed by clean_temporaries) from a file a live run is writing.
    fd, tmp = tempfile.mkstemp(
        prefix=f"{temporary_prefix(path.name)}", suffix=".tmp" + path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); the result should be as open as any file the
        # user makes (0644 under umask 022), whatever wrote into it.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except OSError as exc:
        # A full disk mid-write: say which file could not be written. Only file-system errors
        # (they carry an errno); a failed download (URLError, no errno) passes unchanged.
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def current_umask() -> int:
    """The process's umask, read without changing it where Linux shows it (/proc), else by
    setting and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temporary_prefix(name: str) -> str:
    """The start of a temporary name for `name` in this process: '.NAME.PID.'."""
    return f".{name}.{os.getpid()}."


_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[^.]+(\.tmp|$)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_temporaries(folder: Path) -> int:
    """Remove temporary files and folders in `folder` left by runs that no longer exist
    (a SIGKILL or power cut mid-write). Returns how many were removed."""
    removed = 0
    if not Path(folder).is_dir():
        return 0
    for entry in Path(folder).iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed


def check_writable(folder, option: str) -> Path:
    """Make sure `folder` exists and can take new files, before any work starts."""
    from mnistlab.errors import UserError

    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=temporary_prefix("write-test"), dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(
            f"{option} {folder} cannot be written ({exc.strerror or exc}): choose another {option}"
        ) from None
    return folder


def write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def to_jsonable(value):
    """The value as results.json holds it: arrays -> lists, NaN/inf -> None, paths -> text."""
    kind = type(value)  # the common plain types first: a report holds ~250,000 values
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, data, *, compact: bool = False) -> Path:
    """data as JSON, atomically. compact: one line, written by json's C encoder (indentation
    takes its much slower Python encoder, which the report's large results.json would feel)."""
    text = json.dumps(
        to_jsonable(data), **({"separators": (",", ":")} if compact else {"indent": 2})
    )
    return write_text(path, text + "\n")


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_figure(fig, path: Path, *, dpi: int = 110) -> Path:
    """Save a matplotlib figure atomically as PNG, cropped to what is drawn, and close it.

    The same picture as savefig(bbox_inches="tight"), drawn once instead of twice: savefig
    with a layout engine draws the figure to lay it out and measure it, then again to render
    it, a third of a 2x2 figure's time. Here the one rendering draw lays out, then the
    drawn pixels are cropped to the tight box (with savefig's 0.1 in margin, white where it
    passes the canvas). A figure with something drawn past its canvas (a title or legend
    the first layout left a few pixels outside) goes through savefig, given that box, which
    enlarges the canvas to show it."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    tight = fig.get_tightbbox(canvas.get_renderer())
    width, height = fig.get_size_inches()
    with atomic_path(path) as tmp:
        if tight.x0 < 0 or tight.y0 < 0 or tight.x1 > width or tight.y1 > height:
            # savefig draws on a canvas enlarged to the box. Laid out and measured already:
            # its own layout and measuring draws would make three draws of one figure (None,
            # not "none", which leaves a placeholder engine that savefig measures for).
            fig.set_layout_engine(None)
            fig.savefig(tmp, dpi=dpi, bbox_inches=tight.padded(0.1), format="png")
        else:
            _write_cropped_png(np.asarray(canvas.buffer_rgba()), tight.padded(0.1), dpi, tmp)
    plt.close(fig)
    return Path(path)


def _write_cropped_png(pixels: np.ndarray, box, dpi: int, path: Path) -> None:
    """The RGBA pixels inside box (inches from the bottom left), white where box passes them."""
    from PIL import Image  # matplotlib's own PNG writer

    rows, columns = pixels.shape[:2]
    left, right = round(box.x0 * dpi), round(box.x1 * dpi)
    top, bottom = round(rows - box.y1 * dpi), round(rows - box.y0 * dpi)
    inside = pixels[max(top, 0) : min(bottom, rows), max(left, 0) : min(right, columns)]
    margins = ((max(-top, 0), max(bottom - rows, 0)), (max(-left, 0), max(right - columns, 0)))
    cropped = np.pad(inside, (*margins, (0, 0)), constant_values=255)
    Image.fromarray(cropped).save(path, format="png", dpi=(dpi, dpi))


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in ("mnistlab", "keras", "jax", "jaxlib", "numpy", "matplotlib"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """What produced a result: library versions, machine, accelerator, time. The devices are
    JAX's when this process computed with it; a run that only read recorded numbers never
    imports JAX or Keras (devices: [])."""
    jax, keras = sys.modules.get("jax"), sys.modules.get("keras")
    backend = keras.backend.backend() if keras else os.environ.get("KERAS_BACKEND", "jax")
    return {
        "versions": library_versions(),
        "keras_backend": backend,
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()] if jax else [],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
