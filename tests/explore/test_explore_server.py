"""`explore --serve` (explore/server.py), with real requests on 127.0.0.1: a foreign Host is
refused, this machine's names are served with no-store and a content-security policy, traversal
stays in the folder, a cancelled download is quiet, and the browser finds the server answering."""

import http.client
import socket
import struct
import threading
import time
import urllib.request
import webbrowser

import pytest

from mnistlab.explore import server


@pytest.fixture
def running(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("<p>the page</p>")
    (tmp_path / "secret.txt").write_text("outside the folder")
    httpd = server.make_server(folder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, folder
    httpd.shutdown()
    httpd.server_close()


def _get(httpd, path: str, host: str | None) -> http.client.HTTPResponse:
    port = httpd.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", path, skip_host=True)
    if host is not None:
        connection.putheader("Host", host.format(port=port))
    connection.endheaders()
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_this_machines_names_are_served_with_no_store_and_a_policy(running, host):
    httpd, _ = running
    response = _get(httpd, "/index.html", host)
    assert response.status == 200 and response.body == b"<p>the page</p>"
    assert response.getheader("Cache-Control") == "no-store"
    policy = response.getheader("Content-Security-Policy")
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1", "127.0.0.1:1", "", None]
)
def test_a_foreign_or_missing_host_is_refused(running, host):
    """A DNS-rebinding page sends its own host name: 403, and not a byte of the page."""
    httpd, _ = running
    response = _get(httpd, "/index.html", host)
    assert response.status == 403 and b"the page" not in response.body


def test_traversal_stays_in_the_folder(running):
    httpd, _ = running
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        response = _get(httpd, path, "127.0.0.1:{port}")
        assert response.status == 404 and b"outside" not in response.body


def test_a_cancelled_download_is_quiet(running, capfd):
    """The browser closes the connection mid-file: no traceback on the terminal."""
    httpd, folder = running
    (folder / "big.bin").write_bytes(b"\0" * (32 << 20))
    port = httpd.server_address[1]
    for _ in range(3):
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(f"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        client.recv(4096)  # the download has started
        # close with a reset (linger 0), as a browser that cancels does
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    time.sleep(1.0)
    assert "Traceback" not in capfd.readouterr().err


def test_the_browser_is_opened_while_the_server_answers(tmp_path, monkeypatch, capsys):
    """A console browser fetches the page inside webbrowser.open and waits there: opened before
    serving, in the same thread, it would wait forever for an answer."""
    (tmp_path / "page.html").write_text("<p>the page</p>")
    made, fetched = [], []
    real = server.make_server
    monkeypatch.setattr(
        server, "make_server", lambda *a, **k: made.append(real(*a, **k)) or made[0]
    )

    def console_browser(url):
        with urllib.request.urlopen(url, timeout=10) as response:
            fetched.append((response.status, response.read()))
        made[0].shutdown()

    monkeypatch.setattr(webbrowser, "open", console_browser)
    server.serve(tmp_path / "page.html")
    assert fetched == [(200, b"<p>the page</p>")]
    assert "explore: serving http://127.0.0.1:" in capsys.readouterr().out
