"""What opening a stored exchange key costs: `.venv/bin/python -m bench.decrypt_cost`.

One credential (key and secret, two v2 envelopes) opened cold (data keys not cached: one unwrap
each) and then warm (cached data keys: AES-GCM only), with the local master key and with KMS
(moto's server on localhost, so the cold figure is a floor: real KMS adds a network round trip
of a few ms from inside the VPC). Standalone; not part of `make bench` or the tests.
"""

from __future__ import annotations

import os
import statistics
import time

RUNS = 2000


def _measure(label: str) -> None:
    from tradebot.accounts.sealing import open_value, seal_value
    from tradebot.crypto.envelope import data_key_cache

    owner = ("user-1", "cred-1")
    key = seal_value(*owner, "api_key", "A" * 64)
    secret = seal_value(*owner, "api_secret", "B" * 64)

    def open_both() -> float:
        start = time.perf_counter()
        open_value(key, *owner, "api_key")
        open_value(secret, *owner, "api_secret")
        return time.perf_counter() - start

    data_key_cache().clear()
    cold = open_both()
    warm = sorted(open_both() for _ in range(RUNS))
    print(
        f"{label}: cold {cold * 1e3:.2f} ms; warm median {statistics.median(warm) * 1e6:.1f} us, "
        f"p99 {warm[int(RUNS * 0.99)] * 1e6:.1f} us per credential (key + secret)"
    )


def main() -> None:
    """Print the cold and warm cost with the local master key, then with KMS on moto."""
    import boto3
    from moto.server import ThreadedMotoServer
    from tradebot.crypto.envelope import reset_envelope
    from tradebot.settings import get_settings

    os.environ.update({"APP_ENV": "test", "KMS_KEY_ID": ""})
    get_settings.cache_clear()
    _measure("local master key")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": f"http://{host}:{port}",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        os.environ["KMS_KEY_ID"] = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        get_settings.cache_clear()
        reset_envelope()
        _measure("KMS (moto on localhost)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
