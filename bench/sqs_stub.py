"""A stand-in for SQS's JSON API on 127.0.0.1: takes SendMessage(Batch), answers at once.

Run in its own process (`python -m bench.sqs_stub`), so the API's real boto3 client signs,
serializes and sends each message over loopback, without the stub sharing the measured
process's GIL. SQS's own service time is not in it; the notes say so.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)
_lock = threading.Lock()
_received = [0]  # messages accepted, for GET /


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _answer(target: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if target.endswith(".SendMessageBatch"):
        entries = request.get("Entries", [])
        with _lock:
            _received[0] += len(entries)
        return 200, {
            "Successful": [
                {
                    "Id": e["Id"],
                    "MessageId": f"m-{next(_ids)}",
                    "MD5OfMessageBody": _md5(e["MessageBody"]),
                }
                for e in entries
            ],
            "Failed": [],
        }
    if target.endswith(".SendMessage"):
        with _lock:
            _received[0] += 1
        return 200, {
            "MessageId": f"m-{next(_ids)}",
            "MD5OfMessageBody": _md5(request["MessageBody"]),
        }
    return 400, {"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": target}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    # Headers and body leave in separate writes: with Nagle on, the body would wait for the
    # client's delayed ACK (40 ms on Linux), a cost no real SQS endpoint has.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._send(200, {"received": _received[0]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        status, payload = _answer(self.headers.get("X-Amz-Target", ""), body)
        self._send(status, payload)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    # Ends when the parent closes our stdin (or kills us): never outlives the bench.
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
