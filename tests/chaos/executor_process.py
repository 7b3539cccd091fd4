"""One order-executor invocation in a process of its own, as a separate Lambda environment:

    python -m tests.chaos.executor_process EVENT_JSON RESULT_JSON [GO_FILE]

Cold-starts functions/order_executor, creates RESULT_JSON.ready, waits for GO_FILE (if given, so
several processes start at the same instant), runs the handler on the SQS event and writes its
response to RESULT_JSON. Settings come from the environment the test passes down.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

GO_TIMEOUT_S = 60.0


def main(event_path: str, result_path: str, go_path: str | None = None) -> int:
    from devstack.functions import load_function
    from devstack.lambda_events import FakeLambdaContext

    handler = load_function("order_executor").handler
    event = json.loads(Path(event_path).read_text())
    result = Path(result_path)
    Path(f"{result_path}.ready").touch()
    if go_path is not None:
        deadline = time.monotonic() + GO_TIMEOUT_S
        while not Path(go_path).exists():
            if time.monotonic() > deadline:
                return 2
            time.sleep(0.002)
    response = handler(event, FakeLambdaContext(function_name="order_executor"))
    result.write_text(json.dumps(response))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
