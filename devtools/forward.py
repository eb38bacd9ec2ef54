"""Host-loopback forwarders into a network namespace: each listens on the host's 127.0.0.1 and opens its
upstream connections inside the namespace (the process joins it with setns after its listening sockets are
made, so those stay on the host's loopback). A target is an address of the namespace or a name the
cluster's DNS answers there, asked at each connection (a pod's address changes when it is replaced).

    python -m devtools.forward --netns /proc/PID/ns/net --watch PID --dns IP LISTEN=HOST:PORT ...

LISTEN is a port on 127.0.0.1 (0: any free one). Prints one JSON line, {"ports": [...]} (the ports bound,
in order) or {"error": "..."}, then forwards until the process PID (the node's) ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ipaddress
import json
import os
import random
import socket
import struct
import sys
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
DNS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Mapping:
    listen: int
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Mapping:
        listen, _, target = text.partition("=")
        host, _, port = target.rpartition(":")
        if not (listen.isdigit() and host and port.isdigit()):
            raise ValueError(f"not LISTEN=HOST:PORT: {text!r}")
        return cls(int(listen), host, int(port))


def dns_query(name: str, query_id: int) -> bytes:
    """A standard query for the A record of `name`, recursion desired."""
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)


def _skip_name(message: bytes, offset: int) -> int:
    while True:
        length = message[offset]
        if length & 0xC0 == 0xC0:  # a pointer ends the name
            return offset + 2
        if length == 0:
            return offset + 1
        offset += length + 1


def dns_addresses(message: bytes, query_id: int) -> list[str]:
    """The A records of an answer to dns_query (none for another id, an error code or no such name)."""
    answer_id, flags, questions, answers = struct.unpack("!HHHH", message[:8])
    if answer_id != query_id or flags & 0x000F:
        return []
    offset = 12
    for _ in range(questions):
        offset = _skip_name(message, offset) + 4
    found = []
    for _ in range(answers):
        offset = _skip_name(message, offset)
        rtype, _, _, length = struct.unpack("!HHIH", message[offset : offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            found.append(socket.inet_ntoa(message[offset : offset + 4]))
        offset += length
    return found


def resolve(host: str, dns: str) -> str:
    """`host` itself when it is an address, else its first A record from the DNS server at `dns`."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    query_id = random.randrange(1 << 16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(DNS_TIMEOUT_SECONDS)
        sock.sendto(dns_query(host, query_id), (dns, 53))
        addresses = dns_addresses(sock.recv(4096), query_id)
    if not addresses:
        raise OSError(f"{host} has no address in the cluster's DNS")
    return addresses[0]


def enter(netns: str) -> None:
    """Moves this (still single-threaded) process into the network namespace at `netns`."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(netns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {netns}")
    finally:
        os.close(fd)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


def handler(mapping: Mapping, dns: str):
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            address = await asyncio.to_thread(resolve, mapping.host, dns)
            upstream_reader, upstream_writer = await asyncio.open_connection(address, mapping.port)
        except OSError as err:
            print(f"{mapping.host}:{mapping.port}: {err}", file=sys.stderr, flush=True)
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))

    return handle


async def serve(listening: list[socket.socket], mappings: list[Mapping], dns: str, watch: int) -> None:
    ended = asyncio.Event()
    asyncio.get_running_loop().add_reader(os.pidfd_open(watch), ended.set)
    servers = [
        await asyncio.start_server(handler(mapping, dns), sock=sock)
        for sock, mapping in zip(listening, mappings, strict=True)
    ]
    await ended.wait()
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.forward", description=__doc__)
    parser.add_argument("--netns", required=True)
    parser.add_argument("--watch", type=int, required=True)
    parser.add_argument("--dns", required=True, help="the cluster DNS server's address in the namespace")
    parser.add_argument("mappings", nargs="+", type=Mapping.parse)
    args = parser.parse_args(argv)
    listening = []
    for mapping in args.mappings:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", mapping.listen))
        except OSError as err:
            print(json.dumps({"error": f"cannot listen on 127.0.0.1:{mapping.listen}: {err.strerror}"}), flush=True)
            return 1
        sock.listen(128)
        listening.append(sock)
    try:
        enter(args.netns)
    except OSError as err:
        print(json.dumps({"error": f"cannot enter {args.netns}: {err}"}), flush=True)
        return 1
    print(json.dumps({"ports": [sock.getsockname()[1] for sock in listening]}), flush=True)
    asyncio.run(serve(listening, args.mappings, args.dns, args.watch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
