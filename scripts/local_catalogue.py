"""Start the local test catalogue: the synthetic crossing on two dates as Cloud-Optimized GeoTIFFs
served by nginx (HTTP range requests), published as the items of the collection ``synth-crossing``
in rustac's STAC API, both on 127.0.0.1 only. It prints the catalogue's URL and the ``geotally
search`` and ``geotally count`` commands to try against it, and runs until Ctrl-C.

    python scripts/local_catalogue.py [FOLDER] [--api-port 8090] [--cog-port 8091] &
    python scripts/local_catalogue.py --wait [--api-port 8090]   # returns once the catalogue answers

Needs nginx (Debian: ``apt-get install nginx``) and rustac (``pip install -e ".[dev]"``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.servers

from tests.servers import nginx_binary, rustac_binary
from tests.servers.catalogue import COLLECTION, serve


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, help="where the COGs and items go (default: a new temporary folder)")
    ap.add_argument("--api-port", type=int, default=8090, help="the STAC API's port (default 8090)")
    ap.add_argument("--cog-port", type=int, default=8091, help="nginx's port (default 8091)")
    ap.add_argument("--wait", action="store_true", help="start nothing: wait (up to 5 minutes) until the catalogue "
                    "on --api-port answers, for a script that started it in the background")
    args = ap.parse_args()
    if args.wait:
        return wait(args.api_port)
    missing = [n for n, b in (("nginx", nginx_binary()), ("rustac", rustac_binary())) if b is None]
    if missing:
        print(f"local_catalogue: {' and '.join(missing)} not installed (apt-get install nginx; pip install rustac)",
              file=sys.stderr)
        return 2
    folder = args.folder or Path(tempfile.mkdtemp(prefix="geotally-catalogue-"))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))  # stop the servers too
    with serve(folder, api_port=args.api_port, cog_port=args.cog_port) as cat:
        d0, d1 = cat["dates"][0], cat["dates"][-1]
        print(f"STAC API:  {cat['api'].url}  (collection {COLLECTION}, items on {', '.join(cat['dates'])})")
        print(f"COGs:      {cat['web'].url}/  (nginx; access log {cat['web'].log})")
        print(f"zones:     {cat['zones']}")
        print(f"border:    {cat['border']}\n")
        print(f"geotally search --stac-api {cat['api'].url} --collections {COLLECTION} --zones {cat['zones']} "
              f"--datetime {d0}/{d1}")
        print(f"geotally count --stac-api {cat['api'].url} --collections {COLLECTION} --zones {cat['zones']} "
              f"--datetime {d0}/{d1} --out results-catalogue/\n")
        print("Ctrl-C stops both servers.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def wait(port: int, timeout_s: float = 300.0) -> int:
    """0 once the STAC API on 127.0.0.1:``port`` answers its landing page, 1 after ``timeout_s``."""
    import urllib.request

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                print(f"the catalogue answers on http://127.0.0.1:{port}")
                return 0
        except OSError:
            time.sleep(0.5)
    print(f"local_catalogue: nothing answers on 127.0.0.1:{port} after {timeout_s:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
