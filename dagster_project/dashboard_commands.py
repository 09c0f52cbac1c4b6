"""``zone-marts dashboard --zone CODE``: serve one zone's dashboard on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from dagster_project.settings import PROJECT_DIR, load_settings
from dagster_project.zones import load_zones
from dashboard.mart_access import locate_mart

DASHBOARD_APP = PROJECT_DIR / "dashboard" / "app.py"
DEFAULT_PORT = 8501


def build_streamlit_command(zone_code: str, port: int) -> list[str]:
    """Return the ``streamlit run`` command line that serves ``zone_code`` on ``port``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(DASHBOARD_APP),
        "--browser.gatherUsageStats",
        "false",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        # Hides the "Deploy" button, which offers to publish the app to Streamlit's cloud.
        "--client.toolbarMode",
        "minimal",
        # Arguments after "--" go to the app, which reads its zone from them.
        "--",
        "--zone",
        zone_code,
    ]


def tcp_port(text: str) -> int:
    """Parse a --port value: a whole number from 1 to 65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port from 1 to 65535")
    return int(text)


def port_is_free(port: int) -> bool:
    """Return whether a server could listen on 127.0.0.1:``port`` now."""
    with socket.socket() as probe:
        # As servers do, so that connections closed by a dashboard just stopped, which wait in
        # TIME_WAIT for a minute, do not count as a server on the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _dashboard(args: argparse.Namespace) -> int:
    codes = [zone.code for zone in load_zones()]
    if args.zone not in codes:
        print(f"unknown zone {args.zone!r}: choose one of {', '.join(codes)} (marts/zones.yml)")
        return 2
    try:
        # In production the mart is read with the zone's own login, which must be set.
        locate_mart(args.zone, load_settings())
    except ValueError as error:
        print(f"zone-marts dashboard: {error}", file=sys.stderr)
        return 2
    if not port_is_free(args.port):
        print(
            f"zone-marts dashboard: port {args.port} on 127.0.0.1 is in use; stop what serves "
            "it or choose another port with --port",
            file=sys.stderr,
        )
        return 2
    print(f"Serving the {args.zone} dashboard on http://127.0.0.1:{args.port} (Ctrl+C stops it)")
    sys.stdout.flush()
    # Streamlit replaces this process, so a stop signal from kill, timeout or systemd reaches
    # the server itself instead of leaving it running without its parent.
    command = build_streamlit_command(args.zone, args.port)
    os.execv(command[0], command)


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    dashboard = subparsers.add_parser(
        "dashboard", help="serve the dashboard of one zone to its managers on 127.0.0.1"
    )
    dashboard.add_argument("--zone", required=True, help="zone code, as in marts/zones.yml")
    dashboard.add_argument(
        "--port", type=tcp_port, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})"
    )
    dashboard.set_defaults(handler=_dashboard)
