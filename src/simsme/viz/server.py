"""Serving the live view (:mod:`simsme.viz.app`) with Solara's server on uvicorn.

Solara's usage telemetry is switched off (``SOLARA_TELEMETRY_MIXPANEL_ENABLE=False``) unless the
user set it, and no version check runs: the server talks to nobody but the browser.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import webbrowser
from pathlib import Path

from simsme.errors import SimsmeError
from simsme.scenario import load_scenario

APP_MODULE = "simsme.viz.app"


def check_port(host: str, port: int) -> None:
    """Refuse, before starting, a port that is taken (one clear message, not a traceback)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise SimsmeError(
            f"--port {port}: cannot listen on {host}:{port} ({reason}); "
            "choose another port, e.g. --port 0 for any free one"
        ) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on ``host`` now."""
    with socket.create_server((host, 0)) as sock:
        return int(sock.getsockname()[1])


def view_url(host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    return f"http://{shown}:{port}/"


def serve(
    scenario: Path | None,
    host: str = "127.0.0.1",
    port: int = 8765,
    open_browser: bool = True,
    n_smes: int | None = None,
    announce: callable = print,  # type: ignore[valid-type]
) -> None:
    """Serve the view of ``scenario`` (``None``: the built-in baseline) until interrupted."""
    if scenario is not None:
        load_scenario(scenario)  # a bad file is refused here, with the field named
    if port == 0:
        port = free_port(host)
    check_port(host, port)
    os.environ["SIMSME_VIEW_SCENARIO"] = str(scenario.resolve()) if scenario else ""
    if n_smes is not None:
        os.environ["SIMSME_VIEW_N_SMES"] = str(n_smes)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ["SOLARA_APP"] = APP_MODULE

    import uvicorn

    config = uvicorn.Config(
        "solara.server.starlette:app", host=host, port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    url = view_url(host, port)

    def announce_when_up() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.1)
        announce(f"simsme view: serving on {url} (Ctrl+C to stop)")
        if open_browser:
            webbrowser.open(url)

    threading.Thread(target=announce_when_up, daemon=True).start()
    server.run()
