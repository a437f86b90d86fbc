"""The download path, against a local HTTP server on 127.0.0.1 (never the internet)."""

import contextlib
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from mnistlab import data
from mnistlab.data.download import RETRIES_PER_MIRROR, download_file
from mnistlab.errors import DataError

from synthetic import idx_bytes, patch_checksums

STEM = "t10k-labels-idx1-ubyte"


@pytest.fixture
def server():
    """Serves `routes[path] = (status, body)`; records every request path."""
    routes, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            status, body = routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", routes, requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def labels_file(monkeypatch):

    raw = idx_bytes(np.arange(10, dtype=np.uint8))
    patch_checksums(
        monkeypatch, "mnist", {**data.info("mnist").sha256, STEM: hashlib.sha256(raw).hexdigest()}
    )
    return gzip.compress(raw)


def test_download_good_file_is_verified_and_placed(server, labels_file, tmp_path):
    base, routes, _ = server
    routes[f"/good/{STEM}.gz"] = (200, labels_file)
    path = download_file("mnist", STEM, tmp_path, mirrors=[base + "/good/"], retry_delay=0)
    assert path == tmp_path / "mnist" / f"{STEM}.gz"
    assert data.check_file(tmp_path, "mnist", STEM).state == "ok"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_corrupt_mirror_falls_through_to_next(server, labels_file, tmp_path):
    base, routes, requests = server
    routes[f"/bad/{STEM}.gz"] = (200, gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01x"))
    routes[f"/good/{STEM}.gz"] = (200, labels_file)
    download_file("mnist", STEM, tmp_path, mirrors=[base + "/bad/", base + "/good/"], retry_delay=0)
    assert requests == [f"/bad/{STEM}.gz", f"/good/{STEM}.gz"]  # a wrong file is not retried


def test_server_error_is_retried_then_reported(server, labels_file, tmp_path):
    base, routes, requests = server
    routes[f"/err/{STEM}.gz"] = (500, b"boom")
    with pytest.raises(DataError, match="could not download mnist/t10k-labels-idx1-ubyte.gz") as e:
        download_file("mnist", STEM, tmp_path, mirrors=[base + "/err/"], retry_delay=0)
    assert "127.0.0.1" in str(e.value) and "HTTP 500" in str(e.value)  # the reason survives
    assert len(requests) == RETRIES_PER_MIRROR
    assert not (tmp_path / "mnist" / f"{STEM}.gz").exists()
    assert list((tmp_path / "mnist").iterdir()) == []  # nothing half-written


def test_only_corrupt_file_available_gives_data_error(server, labels_file, tmp_path):
    base, routes, _ = server
    routes[f"/bad/{STEM}.gz"] = (200, b"not gzip at all")
    with pytest.raises(DataError, match="SHA-256 mismatch|cannot be read"):
        download_file("mnist", STEM, tmp_path, mirrors=[base + "/bad/"], retry_delay=0)


def test_mirrors_variable_points_downloads_at_a_local_mirror(
    server, labels_file, tmp_path, monkeypatch
):
    base, routes, requests = server
    routes[f"/local/mnist/{STEM}.gz"] = (200, labels_file)
    monkeypatch.setenv("MNISTLAB_MIRRORS", f"{base}/down/, {base}/local")
    path = download_file("mnist", STEM, tmp_path, retry_delay=0)
    assert path.is_file() and requests[-1] == f"/local/mnist/{STEM}.gz"
    assert all(r.startswith(("/down/", "/local/")) for r in requests)  # no public mirror


def test_failed_download_is_one_short_line(server, tmp_path, monkeypatch):
    base, _, _ = server
    monkeypatch.setenv("MNISTLAB_MIRRORS", f"{base}/a,{base}/b,{base}/c")
    with pytest.raises(DataError) as error:
        download_file("mnist", STEM, tmp_path, retry_delay=0)
    message = str(error.value)
    assert "\n" not in message and len(message) < 400
    assert "from 3 mirror(s)" in message and "MNISTLAB_MIRRORS" in message
    assert "HTTP 404" in message and "None" not in message


def test_unreachable_mirror_keeps_its_reason(tmp_path):
    """A connection error (URLError, no filename) is reported with its reason, not re-wrapped
    as a file error by the atomic write around the download."""
    with pytest.raises(DataError) as error:
        download_file("mnist", STEM, tmp_path, mirrors=["http://127.0.0.1:1/"], retry_delay=0)
    assert "refused" in str(error.value).lower() and "None" not in str(error.value)


@pytest.fixture
def raw_server():
    """A TCP server whose answer is `behaviour(connection)`: for mirrors that misbehave below HTTP."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    state = {"behaviour": None, "stop": False}

    def serve():
        while not state["stop"]:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(4096)
                with contextlib.suppress(OSError):
                    state["behaviour"](connection)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/", state
    state["stop"] = True
    listener.close()


def test_a_mirror_that_does_not_speak_http_is_skipped_for_the_next(
    raw_server, server, labels_file, tmp_path
):
    """Issue 27: it ended in a 49-line traceback and the next mirror was never tried."""
    garbage, state = raw_server
    state["behaviour"] = lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    base, routes, _ = server
    routes[f"/good/{STEM}.gz"] = (200, labels_file)
    path = download_file("mnist", STEM, tmp_path, mirrors=[garbage, base + "/good/"], retry_delay=0)
    assert data.check_file(tmp_path, "mnist", STEM).state == "ok" and path.is_file()


def test_a_trickling_mirror_is_dropped_for_lack_of_progress(raw_server, tmp_path, monkeypatch):
    """Issue 27: a mirror sending a byte every 5 s never timed out (each read got its byte)."""
    import time

    from mnistlab.data import download

    monkeypatch.setattr(download, "STALL_SECONDS", 0.5)
    trickle, state = raw_server

    def drip(connection):
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
        for _ in range(50):
            connection.sendall(b"x")
            time.sleep(0.05)

    state["behaviour"] = drip
    start = time.monotonic()
    with pytest.raises(DataError, match="stalled"):
        download_file("mnist", STEM, tmp_path, mirrors=[trickle], retry_delay=0)
    assert time.monotonic() - start < 2.0  # dropped after one window, not retried
    assert list((tmp_path / "mnist").iterdir()) == []


def test_a_download_larger_than_the_file_can_be_is_stopped(server, labels_file, tmp_path):
    base, routes, _ = server
    routes[f"/huge/{STEM}.gz"] = (200, bytes(3 << 20))  # 3 MB for a 10 kB file
    routes[f"/good/{STEM}.gz"] = (200, labels_file)
    download_file(
        "mnist", STEM, tmp_path, mirrors=[base + "/huge/", base + "/good/"], retry_delay=0
    )
    with pytest.raises(DataError, match="more than the file can be"):
        download_file(
            "mnist", STEM, tmp_path / "only-huge", mirrors=[base + "/huge/"], retry_delay=0
        )


def test_a_killed_download_leaves_nothing_behind(server, labels_file, tmp_path):
    """A temporary file of a download killed half-way (its writer's process gone) is removed
    by the next download into that folder."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    leftover = folder / f".{STEM}.gz.999999999.abc123.tmp.gz"  # its writer's pid is not alive
    leftover.write_bytes(b"half")
    base, routes, _ = server
    routes[f"/good/{STEM}.gz"] = (200, labels_file)
    download_file("mnist", STEM, tmp_path, mirrors=[base + "/good/"], retry_delay=0)
    assert sorted(p.name for p in folder.iterdir()) == [f"{STEM}.gz"]


def test_a_read_only_data_folder_is_named_not_blamed_on_the_mirrors(tmp_path):
    """Issue 27: it was reported as a mirror failure, after retries."""
    import os

    from mnistlab.errors import UserError

    (tmp_path / "file").write_text("")  # a file where the data set's folder should be
    with pytest.raises(UserError, match="data folder"):
        download_file("mnist", STEM, tmp_path / "file", mirrors=["http://127.0.0.1:9/"])
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(UserError, match="data folder"):
            download_file("mnist", STEM, tmp_path, mirrors=["http://127.0.0.1:9/"], retry_delay=0)
    finally:
        tmp_path.chmod(0o755)
