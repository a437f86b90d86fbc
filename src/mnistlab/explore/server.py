"""`mnistlab explore --serve`: the page's folder on 127.0.0.1, for this machine's browser only.

Listening on the loopback address is not enough on its own: a page on another site can point
its own host name at 127.0.0.1 (DNS rebinding) and read what the server answers. So a request
is answered only when its Host header names this server as this machine does (127.0.0.1,
localhost or [::1], with the server's port), as Jupyter and Vite do; anything else gets 403.
Answers are not cached by the browser and carry a content-security policy that lets the page
run its own inline script and style and reach no network origin. A download the browser
cancels ends quietly. The browser is opened in a thread after the server listens, so a console
browser that waits until it is closed cannot keep the server from answering it.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# The page is one self-contained file: its own inline script and style, data: images, no fetch.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; connect-src 'none'; form-action 'none'; frame-ancestors 'none'"
)


class LoopbackHandler(http.server.SimpleHTTPRequestHandler):
    """The folder's files, to requests whose Host is this server on this machine."""

    def _host_allowed(self) -> bool:
        port = self.server.server_address[1]
        host = (self.headers.get("Host") or "").strip().lower()
        return host in {f"{name}:{port}" for name in LOOPBACK_NAMES}

    def send_head(self):
        """GET and HEAD both start here: a foreign Host gets 403 and nothing of the folder."""
        if not self._host_allowed():
            self.send_error(403, "Forbidden: this server answers only requests for 127.0.0.1")
            return None
        return super().send_head()

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def copyfile(self, source, outputfile):
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the browser cancelled the download: nothing to say


def make_server(folder: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server of `folder` listening on 127.0.0.1:port (0: a free port), not yet serving."""
    handler = functools.partial(LoopbackHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve(page: Path, port: int = 0) -> None:
    """Serve the page's folder until Ctrl-C (or shutdown()), opening the page in a browser."""
    import webbrowser

    with make_server(page.parent, port) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/{page.name}"
        print(f"explore: serving {url} (Ctrl-C stops)")
        # The socket listens already; the browser, opened beside the server, finds it answering
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server.serve_forever()
