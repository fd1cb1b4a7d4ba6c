"""`chalice local` with a listen backlog a floor of boards fits in.

chalice local serves with `http.server`, whose listen backlog is socketserver's default of 5
pending connections. Every board poll and agent request is a new connection (chalice local
closes each one), so at 200 boards and 33 changes/s bursts overflow it: the kernel resets or
drops the surplus connections and the clients retry after a SYN timeout (1 s, then 3 s), which
showed as "ConnectionResetError" and a change -> board tail of 3.6-6 s in the presence
benchmark (docs/presence.md). API Gateway has no such queue; the local stand-in should not add
one. Run as `python -m ops.chalice_local local ...` (the arguments of `chalice`).
"""

from __future__ import annotations

import sys

# Capped by the kernel's net.core.somaxconn (4096 on current Linux).
LISTEN_BACKLOG = 1024


def main() -> int:
    from chalice.cli import main as chalice_main
    from chalice.local import ThreadedHTTPServer

    ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    sys.argv[0] = "chalice"
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
