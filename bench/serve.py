"""The local API for the load test: `python -m bench.serve [devstack|tcp]`, every route of the
table under uvicorn as `make dev` serves it. Prints its port, serves until its stdin closes."""

from __future__ import annotations

import os
import socket
import sys
import threading

# Our stdout is a pipe the parent reads one line from: the port. The application's JSON logs
# (bound to sys.stdout when tradebot.observability is imported) must not fill it up.
PORT_OUT = sys.stdout
sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process

import uvicorn  # noqa: E402

from devstack.ports import bind_port  # noqa: E402
from devstack.server import build_local_app  # noqa: E402


def listening_socket(kind: str) -> socket.socket:
    """`devstack`: bound as `make dev` binds it. `tcp`: the same, created with IPPROTO_TCP.

    asyncio turns Nagle off (TCP_NODELAY) only on connections of sockets whose proto is
    IPPROTO_TCP; one made with proto 0 keeps Nagle, and each keep-alive response then waits
    for the client's delayed ACK (about 40 ms on Linux).
    """
    if kind == "devstack":
        return bind_port("127.0.0.1", 0, variable="PORT")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "devstack"
    if not os.environ.get("REDIS_URL"):
        # The embedded fakeredis lives in this process: give it the market the parent seeded.
        from bench.data import seed_market

        seed_market()
    sock = listening_socket(kind)
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
