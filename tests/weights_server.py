"""A local HTTP server that publishes one file, with range requests, for the download tests of every engine.

It can ignore range requests or close the connection early, and records the ``Range`` header of every request.
This module holds no tests.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator


class WeightsServer:
    """What the server publishes and what it saw.

    Attributes:
        payload: the file's bytes, served at ``url``.
        ignore_range: answer range requests with the whole file (status 200), as some servers do.
        stop_after: announce the full length but close after this many bytes of the body.
        ranges: the ``Range`` header of each request (None without one).
        url: where the file is; any other path answers 404.
    """

    def __init__(self, payload: bytes, name: str) -> None:
        self.payload = payload
        self.name = name
        self.ignore_range = False
        self.stop_after: int | None = None
        self.ranges: list[str | None] = []
        self.url = ""


def _handler(state: WeightsServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != f"/{state.name}":
                self.send_error(404)
                return
            header = self.headers.get("Range")
            state.ranges.append(header)
            data, start = state.payload, 0
            if header and not state.ignore_range:
                start = int(header.removeprefix("bytes=").rstrip("-"))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client cancelled
                self.wfile.write(body if state.stop_after is None else body[: state.stop_after])
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serve(payload: bytes, name: str = "weights.pth") -> Iterator[WeightsServer]:
    """Publishes ``payload`` as ``http://127.0.0.1:PORT/<name>`` until the block ends."""
    state = WeightsServer(payload, name)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/{name}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
