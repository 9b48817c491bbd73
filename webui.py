#!/usr/bin/env python3
"""Start the web UI and the OpenAI-compatible API.

python3 webui.py [--host H] [--port P] [--data-dir D]
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys

from app.config import ConfigError, Settings, load_settings


def _check_port_free(settings: Settings) -> None:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {settings.port} on {settings.host} is already in use "
                    "(set WEBUI_PORT or --port to another port)"
                ) from None
            raise ConfigError(
                f"cannot listen on {settings.host}:{settings.port} ({exc.strerror})"
            ) from None


def _fewer_malloc_arenas() -> None:
    """glibc gives every thread that allocates its own memory arena; after decoding large photos
    in worker threads their freed memory stays held in those arenas. Two arenas keep RSS close
    to what is in use (bench/bench_memory.py). No effect off glibc."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_arena_max = -8
    libc.mallopt(m_arena_max, 2)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(argv)
        _check_port_free(settings)
    except ConfigError as exc:
        print(f"webui: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("httpx", "httpx2", "httpcore", "httpcore2"):  # one line per poll is noise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    _fewer_malloc_arenas()

    from app.server import serve  # imported late: a config error should not wait for Gradio

    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
