"""The local API for the load test: `python -m bench.serve`, every route of the table under
uvicorn as `make dev` serves it. Prints its port, serves until its stdin closes."""

from __future__ import annotations

import os
import sys
import threading

# Our stdout is a pipe the parent reads one line from: the port. The application's JSON logs
# (bound to sys.stdout when tradebot.observability is imported) must not fill it up.
PORT_OUT = sys.stdout
sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process

import uvicorn  # noqa: E402

from devstack.ports import bind_port  # noqa: E402
from devstack.server import build_local_app  # noqa: E402


def main() -> None:
    if not os.environ.get("REDIS_URL"):
        # The embedded fakeredis lives in this process: give it the market the parent seeded.
        from bench.data import seed_market

        seed_market()
    sock = bind_port("127.0.0.1", 0, variable="PORT")  # as make dev binds its port
    server = uvicorn.Server(
        uvicorn.Config(
            build_local_app(),
            host="127.0.0.1",
            port=sock.getsockname()[1],
            log_config=None,
            lifespan="off",  # as devstack.dev and Lambda (Mangum) run it
            access_log=False,  # a line per request would measure the terminal, not the API
            backlog=2048,
        )
    )

    def stop_when_parent_closes_stdin() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_parent_closes_stdin, daemon=True).start()
    print(sock.getsockname()[1], file=PORT_OUT, flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
