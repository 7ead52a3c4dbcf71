"""Write an nginx.conf for N Streamlit processes from deploy/nginx.conf.template (standard library only).

    python deploy/render_nginx.py --listen 80 --server app:8501 > deploy/nginx.conf          # compose
    python deploy/render_nginx.py --listen 0.0.0.0:8080 --server 127.0.0.1:8501 --server 127.0.0.1:8502 \\
        --prefix /tmp/nginx > /tmp/nginx/nginx.conf                                                 # one machine

A ``--server`` that names a host with several addresses (compose's ``app`` after ``--scale app=4``) is
one upstream server per address: nginx resolves it when it starts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def render(listen: str, servers: list[str], prefix: str | None = None, debug_upstream: bool = False,
           mime_types: str = "/etc/nginx/mime.types") -> str:
    """The nginx.conf text. ``prefix``: a folder for the pid file, logs and temp files (a non-root run);
    default: the system's places. ``debug_upstream``: answer with ``X-Upstream`` (which process served),
    for tests and benchmarks only (it shows internal addresses)."""
    if not servers:
        raise ValueError("at least one --server is needed")
    place = (lambda name: f"{prefix.rstrip('/')}/{name}") if prefix else None
    fields = {
        "PID": place("nginx.pid") if place else "/run/nginx.pid",
        "ERROR_LOG": place("error.log") if place else "/var/log/nginx/error.log",
        "ACCESS_LOG": place("access.log") if place else "/var/log/nginx/access.log",
        "TEMP": place("temp") if place else "/var/cache/nginx",
        "MIME_TYPES": mime_types,
        "LISTEN": listen,
        "SERVERS": "\n".join(f"        server {s} max_fails=0;" for s in servers),
        "EXTRA": "            add_header X-Upstream $upstream_addr always;" if debug_upstream else "",
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in fields.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="80", help="nginx's listen directive (default 80)")
    parser.add_argument("--server", action="append", default=[], help="a Streamlit process, host:port (repeat)")
    parser.add_argument("--prefix", help="folder for pid, logs and temp files (default: the system's)")
    parser.add_argument("--debug-upstream", action="store_true", help="add X-Upstream to responses (tests only)")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render(args.listen, args.server, args.prefix, args.debug_upstream))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
