"""`python -m connectors.sandbox [--host HOST] [--port PORT]`: serve the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import os

from .server import DEFAULT_PORT, make_sandbox_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connectors.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT") or DEFAULT_PORT))
    args = parser.parse_args(argv)
    server = make_sandbox_server(args.host, args.port)
    base_url = f"http://{args.host}:{server.server_address[1]}"
    print(f"API sandbox on {base_url} (BODACC: {base_url}/bodacc/api/explore/v2.1)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
