"""An HTTP server on 127.0.0.1 for the download tests: a folder served, each request logged."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; records each requested path in ``requests``, prints nothing."""

    requests: list[str]

    def do_GET(self):  # noqa: N802
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(folder):
    """An HTTP server on 127.0.0.1 serving ``folder``; yields (base URL without a slash, log)."""
    log: list[str] = []
    handler = type("Handler", (_LoggingHandler,), {"requests": log})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", log
    finally:
        httpd.shutdown()
        httpd.server_close()
