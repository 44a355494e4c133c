"""hasher: returns the SHA-256 hex digest of the POSTed body.

Wire-compatible with the original dockercoins hasher (POST / with an
octet-stream body answers the hex digest; GET / a banner), with the same 0.1 s
per-request delay by default, but served concurrently.
"""

from __future__ import annotations

import hashlib
import time

from common.service import App, Request, Response, main_delay_service


def create_app(delay: float = 0.1, max_concurrency: int = 0) -> App:
    app = App("hasher", max_concurrency)
    hashed = app.metrics.counter("coinminer_hasher_bytes_total", "Bytes hashed.")

    def digest(req: Request) -> Response:
        if delay > 0:
            time.sleep(delay)
        hashed.inc(len(req.body))
        return Response(body=hashlib.sha256(req.body).hexdigest().encode())

    app.add_banner()
    app.route("POST", "/", digest, label="/hash")
    return app


def main() -> None:
    main_delay_service("hasher", create_app)


if __name__ == "__main__":
    main()
