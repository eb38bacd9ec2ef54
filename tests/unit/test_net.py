import socket

from devtools.net import free_port, free_ports


def test_ports_asked_for_together_are_distinct_and_free():
    for _ in range(50):  # ports asked for one by one came back twice often enough to fail a start
        ports = free_ports(4)
        assert len(set(ports)) == 4
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_one_free_port_can_be_listened_on():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
