#!/usr/bin/env python3
"""The container's liveness check: GET /healthz on the hub's HTTP server; exit 0 on 200, else 1.

Slim images have no curl, so this is the standard library only. It asks the port ``hub run`` serves
on (HUB_METRICS_PORT, 9400 in the image) on the loopback interface, whatever HUB_METRICS_HOST binds;
or the port given as its argument (``hub-healthcheck 9410``: the gateway, on HUB_GATEWAY__PORT).
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 3


def main() -> int:
    port = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HUB_METRICS_PORT", "9400")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
