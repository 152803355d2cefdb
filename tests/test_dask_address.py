"""--scheduler is checked at once, and whatever listens there answers within the timeout."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from typer.testing import CliRunner

from cli import app
from sim.errors import UserError
from sim.experiment.executors import check_scheduler_address, probe_scheduler

from .sweep_support import write_sweep

runner = CliRunner()


@pytest.mark.parametrize("address, expected", [
    ("tcp://", "no host"),
    ("tcp://:8786", "no host"),
    ("http://10.0.0.5:8786", "'http://' is not a Dask scheduler address"),
    ("localhost:8786", "no scheme"),
    ("tcp://host", "no port"),
    ("tcp://host:0", "no port"),
    ("tcp://host:99999", "not a number from 1 to 65535"),
    ("tcp://host:port", "not a number from 1 to 65535"),
    ("tcp://host:8786/path", "only HOST:PORT"),
])
def test_malformed_addresses_are_refused_before_connecting(tmp_path, address, expected):
    with pytest.raises(UserError, match=expected):
        check_scheduler_address(address)
    sweep = write_sweep(tmp_path, grid={"callbacks.p_callback": [0.01]})
    started = time.monotonic()
    result = runner.invoke(app, ["sweep", str(sweep), "--scheduler", address])
    assert result.exit_code == 2 and expected in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert time.monotonic() - started < 5  # at once, not after a connect timeout


def test_good_addresses_pass():
    for address in ("tcp://10.0.0.5:8786", "tcp://scheduler.example.com:8786", "tls://[::1]:8786"):
        assert check_scheduler_address(address) == address


class Listener:
    """A TCP listener that is not Dask: silent, or answering like a web server."""

    def __init__(self, reply: bytes | None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.reply = reply
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply:
                conn.sendall(self.reply)

    def close(self):
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("reply, expected", [
    (None, "no Dask scheduler answered within 1 s"),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", "is not a Dask scheduler"),
])
def test_a_listener_that_is_not_dask_is_answered_within_the_timeout(reply, expected):
    listener = Listener(reply)
    try:
        started = time.monotonic()
        with pytest.raises(UserError, match=expected):
            probe_scheduler(listener.address, timeout_s=1)
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_a_refused_port_is_answered_at_once():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        started = time.monotonic()
        with pytest.raises(UserError, match="cannot connect: Connection refused"):
            probe_scheduler(f"tcp://127.0.0.1:{port}", timeout_s=15)
        assert time.monotonic() - started < 3


def test_connect_timeout_goes_with_scheduler_and_a_range(tmp_path):
    sweep = write_sweep(tmp_path, grid={"callbacks.p_callback": [0.01]})
    alone = runner.invoke(app, ["sweep", str(sweep), "--connect-timeout", "5"])
    assert alone.exit_code == 2 and "only used with --scheduler" in alone.output
    zero = runner.invoke(app, ["sweep", str(sweep), "--scheduler", "tcp://h:1",
                               "--connect-timeout", "0"])
    assert zero.exit_code == 2 and "must be from 1 to 600" in zero.output
