"""rng: serves random bytes, wire-compatible with the original dockercoins rng.

GET /<n> returns n random bytes; GET / a banner. The original slept 0.1 s per
request in a single thread, which capped the whole app at 10 hashes/s. Here
the sleep (DELAY) is kept by default, but requests are served concurrently;
MAX_CONCURRENCY=1 brings the original ceiling back for teaching.
"""

from __future__ import annotations

import os
import time

from common.service import App, Request, Response, main_delay_service

# A cap so one request cannot make us allocate much: with MAX_CONNECTIONS
# requests at once, answers stay far inside the service's memory limit.
MAX_BYTES = 64 << 10


def create_app(delay: float = 0.1, max_concurrency: int = 0) -> App:
    app = App("rng", max_concurrency)
    served = app.metrics.counter("coinminer_rng_bytes_total", "Random bytes served.")

    def random_bytes(req: Request) -> Response:
        digits = req.match.group(1)
        # Length first: int() of thousands of digits raises (and is slow).
        if len(digits) > len(str(MAX_BYTES)) or int(digits) > MAX_BYTES:
            return Response(413, f"at most {MAX_BYTES} bytes per request\n".encode())
        if delay > 0:
            time.sleep(delay)  # the "work" the course measures; releases the GIL
        n = int(digits)
        served.inc(n)
        return Response(body=os.urandom(n), content_type="application/octet-stream")

    app.add_banner()
    app.route("GET", r"/(\d+)", random_bytes, label="/{n}")
    return app


def main() -> None:
    main_delay_service("rng", create_app)


if __name__ == "__main__":
    main()
