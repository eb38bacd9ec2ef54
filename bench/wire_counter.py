"""A TCP proxy in front of PostgreSQL that counts what each client connection sends, message by message.

It reads only the frontend side of the wire protocol (v3): the startup packet (database and
application name) and the type byte of every later message. A round trip is a point where the
client has to wait for the server before it can go on: the startup, each authentication reply
('p'), each simple query ('Q') and each Sync ('S') of the extended protocol. Messages sent in
pipeline mode between two Syncs share one round trip, however many statements they carry.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Requests that come before the real startup packet; the bench's server answers both with 'N'.
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_WAITING_MESSAGES = "pQS"


@dataclass
class Connection:
    database: str = ""
    application: str = ""
    messages: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0

    @property
    def round_trips(self) -> int:
        return 1 + sum(self.messages[kind] for kind in _WAITING_MESSAGES)

    @property
    def executions(self) -> int:
        """Statements the server runs: one per simple query, one per Execute."""
        return self.messages["Q"] + self.messages["E"]


def startup_parameters(body: bytes) -> dict[str, str]:
    """The name/value pairs of a startup packet's body (after its length and protocol version)."""
    parts = [p.decode("utf-8", "replace") for p in body.split(b"\0")]
    return dict(zip(parts[0::2], parts[1::2], strict=False))


class FrontendParser:
    """Feeds on the bytes a client sends and records them in its connection."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.buffer = bytearray()
        self.started = False

    def feed(self, data: bytes) -> None:
        self.connection.bytes_sent += len(data)
        self.buffer += data
        offset = 0
        while True:
            consumed = self._next_packet(offset) if not self.started else self._next_message(offset)
            if not consumed:
                break
            offset += consumed
        del self.buffer[:offset]

    def _next_packet(self, offset: int) -> int:
        if len(self.buffer) - offset < 8:
            return 0
        length = int.from_bytes(self.buffer[offset : offset + 4], "big")
        if len(self.buffer) - offset < length:
            return 0
        code = int.from_bytes(self.buffer[offset + 4 : offset + 8], "big")
        if code not in (_SSL_REQUEST, _GSSENC_REQUEST):
            params = startup_parameters(bytes(self.buffer[offset + 8 : offset + length]))
            self.connection.database = params.get("database", params.get("user", ""))
            self.connection.application = params.get("application_name", "")
            self.started = True
        return length

    def _next_message(self, offset: int) -> int:
        if len(self.buffer) - offset < 5:
            return 0
        length = int.from_bytes(self.buffer[offset + 1 : offset + 5], "big")
        if len(self.buffer) - offset < 1 + length:
            return 0
        self.connection.messages[chr(self.buffer[offset])] += 1
        return 1 + length


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[bytes], None]) -> None:
    try:
        while data := await reader.read(1 << 16):
            seen(data)
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


class WireCounter:
    """Listens on 127.0.0.1:<port> in a thread of its own and forwards to the server at `target`."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.connections: list[Connection] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        connection = Connection()
        self.connections.append(connection)
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        parser = FrontendParser(connection)
        await asyncio.gather(
            _pipe(client_reader, server_writer, parser.feed),
            _pipe(server_reader, client_writer, lambda _: None),
            return_exceptions=True,
        )

    def start(self) -> WireCounter:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(timeout=10)
        self.port = server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> WireCounter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
