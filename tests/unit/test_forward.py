"""The forwarder's pieces that need no namespace: its arguments and its DNS questions and answers."""

from __future__ import annotations

import struct

import pytest

from devtools import forward


def test_a_mapping_is_a_local_port_and_a_target():
    assert forward.Mapping.parse("0=127.0.0.1:443") == forward.Mapping(0, "127.0.0.1", 443)
    assert forward.Mapping.parse("58080=api.airflow.svc.cluster.local:8080") == forward.Mapping(
        58080, "api.airflow.svc.cluster.local", 8080
    )
    with pytest.raises(ValueError, match="not LISTEN=HOST:PORT"):
        forward.Mapping.parse("58080=nohost")


def answer(query: bytes, *addresses: str, rcode: int = 0) -> bytes:
    """A server's reply to `query`: the question echoed (by a pointer in each answer) and A records."""
    query_id = struct.unpack("!H", query[:2])[0]
    header = struct.pack("!HHHHHH", query_id, 0x8180 | rcode, 1, len(addresses), 0, 0)
    records = b"".join(
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + bytes(int(part) for part in a.split(".")) for a in addresses
    )
    return header + query[12:] + records


def test_a_name_is_asked_for_and_its_a_records_read():
    query = forward.dns_query("pg-data.datasurface-local.svc.cluster.local", 4242)
    assert query[:2] == b"\x10\x92"
    assert b"\x07pg-data\x11datasurface-local\x03svc\x07cluster\x05local\x00" in query
    assert forward.dns_addresses(answer(query, "10.244.0.7", "10.244.0.8"), 4242) == ["10.244.0.7", "10.244.0.8"]


def test_no_such_name_or_another_queries_answer_gives_no_address():
    query = forward.dns_query("missing.default.svc.cluster.local", 7)
    assert forward.dns_addresses(answer(query, rcode=3), 7) == []
    assert forward.dns_addresses(answer(query, "10.244.0.7"), 8) == []


def test_an_address_needs_no_dns():
    assert forward.resolve("10.244.0.7", "192.0.2.1") == "10.244.0.7"
