"""An OSC receiver on its own thread (no Qt): UDP datagrams in, (address, params) out.

python-osc decodes the packets (messages and bundles). The receiving loop is our own, a plain
blocking socket on one thread, rather than python-osc's socketserver servers, because those drop
datagrams that are not OSC without counting them, sleep on a bundle time-tagged in the future (a
bundle dated next year would stop the server) and, in their threading flavour, start a thread per
datagram (a flood would start thousands). Here every datagram is read, decoded or counted as
malformed, and handed to `sink(address, params)` on this thread; bundles are unpacked, their time
tags ignored (a live show plays what arrives now).

Off by default: nothing listens until `start()`. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import socket
import threading

from gan_explorer.core.errors import ConfigError

log = logging.getLogger("gan_explorer.osc")

DEFAULT_HOST = "127.0.0.1"   # localhost: another machine can send only if the user says so
DEFAULT_PORT = 9000          # a common OSC port (TouchOSC, Max examples)
MAX_DATAGRAM = 65536         # the largest UDP payload
RECEIVE_BUFFER = 1 << 20     # the socket's kernel buffer: a burst waits there, bounded; beyond it the kernel drops
POLL_S = 0.2                 # how often the loop looks at its stop flag while no datagram comes


class OscReceiver:
    """Listens on (host, port) on a thread of its own; see the module docstring."""

    def __init__(self, sink, on_malformed=None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
        self.sink = sink                    # (address, params) -> None, called on the receiving thread
        self.on_malformed = on_malformed    # (reason) -> None for a datagram that is not OSC
        self.host, self.port = host, int(port)
        self.datagrams = 0
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def address(self) -> tuple[str, int]:
        """The host and port it listens on (the real port when asked for port 0)."""
        if self._socket is not None:
            return self._socket.getsockname()[:2]
        return self.host, self.port

    def start(self):
        """Bind and listen; ConfigError (one line) when the port cannot be had."""
        if self.running:
            return
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"OSC port {self.port} must be from 0 to 65535")
        try:
            info = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(info[0], socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind(info[4])
        except OSError as exc:
            raise ConfigError(f"OSC cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.settimeout(POLL_S)
        self._socket = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gan_explorer-osc", daemon=True)
        self._thread.start()
        log.debug("OSC listening on %s:%s", *self.address)

    def stop(self, timeout: float = 2.0):
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _loop(self):
        from pythonosc.osc_packet import OscPacket, ParseError

        sock = self._socket
        while not self._stop.is_set():
            try:
                data, _sender = sock.recvfrom(MAX_DATAGRAM)
            except socket.timeout:
                continue
            except OSError:
                break  # the socket was closed under us: stop() is on its way
            self.datagrams += 1
            try:
                messages = OscPacket(data).messages
            except (ParseError, Exception) as exc:  # RecursionError too: bundles nested thousands deep
                if self.on_malformed is not None:
                    self.on_malformed(f"not an OSC packet ({type(exc).__name__})")
                continue
            for timed in messages:
                try:
                    self.sink(timed.message.address, tuple(timed.message.params))
                except Exception:  # a broken sink must not stop the receiver
                    log.exception("OSC message %r not handled", timed.message.address)
