"""A batch of N small images on `make run` (default 1,000): images per second from POST to DONE, and
the count check (every output once, none lost, none duplicated).

    .venv/bin/python -m bench.batch [N]

Starts its own local stack (as the e2e tests do), puts N 64x48 PNGs in a bucket of the stack's moto,
connects it, submits one folder batch and polls it until it ends.
"""

from __future__ import annotations

import io
import os
import sys
import time
import uuid
from collections import Counter

from PIL import Image

from tests.e2e.client import request
from tests.e2e.conftest import start_stack, stop_stack
from tests.e2e.test_batches import connect_bucket, customer_s3, data, every_page, keys


def small_png(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (n % 256, (n * 7) % 256, (n * 13) % 256)).save(out, "PNG")
    return out.getvalue()


def main(count: int = 1000) -> int:
    stack = start_stack({})
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        name = connect_bucket(stack, bucket)
        s3 = customer_s3(stack)
        for n in range(count):
            s3.put_object(Bucket=bucket, Key=f"in/{n:05d}.png", Body=small_png(n))
        started = time.monotonic()
        accepted = data(
            request(
                "POST",
                f"{stack.base_url}/v1/image/edit/batch",
                {"input": f"storage://{name}/in/", "operations": {}, "output": f"storage://{name}/out/"},
            )
        )
        while True:
            time.sleep(2.0)  # polling is itself load on the one moto process; 2 s costs <1% of the figure
            answer = request("GET", accepted["result_url"])
            if answer.status != 200:
                continue  # the local gateway's 29 s limit on a machine this busy: ask again
            batch = answer.json()["data"]
            if batch["status"] in ("DONE", "ERROR"):
                break
        seconds = time.monotonic() - started
        results, errors = every_page(batch)
        written = keys(stack, bucket, "out/")
        named = Counter(r["input_object"]["object_uri"] for r in results)
        lost = count - len(named)
        duplicated = sum(c - 1 for c in named.values()) + (len(results) - len(set(named)))
        rate = count / seconds
        print(
            f"batch of {count} images: {batch['status']} in {seconds:.1f} s = {rate:.2f} images/s "
            f"on {os.cpu_count()} cores; outputs {len(written)}, results {len(results)}, "
            f"errors {len(errors)}, lost {lost}, duplicated {duplicated}",
            flush=True,
        )
        return 0 if len(written) == count and lost == 0 and duplicated == 0 and not errors else 1
    finally:
        stop_stack(stack)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
