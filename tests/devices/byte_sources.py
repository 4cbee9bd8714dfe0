"""Real byte sources for transport tests: a loopback TCP server and a pty pair, each writing a
stream in random chunk sizes, the way a serial line delivers it."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import tty


def _chunks(data: bytes, rng: random.Random, max_chunk: int) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, max_chunk)
        out.append(data[i : i + n])
        i += n
    return out


class TcpByteSource:
    """Serves ``data`` to the first client of a loopback port, in random chunks."""

    def __init__(self, data: bytes, seed: int = 0, max_chunk: int = 37) -> None:
        self.data = data
        self.rng = random.Random(seed)
        self.max_chunk = max_chunk
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(10)
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tcp-byte-source")

    def start(self) -> TcpByteSource:
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        with conn:
            # pyserial empties a socket's input when it opens it: give the open time to finish.
            if self._stop.wait(0.3):
                return
            for chunk in _chunks(self.data, self.rng, self.max_chunk):
                if self._stop.is_set():
                    return
                conn.sendall(chunk)
                time.sleep(self.rng.random() * 0.0005)
            self._stop.wait(10)  # keep the line open until the reader is done

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(5)


class PtyByteSource:
    """A raw pty pair: the reader opens ``url`` (the slave path); ``start`` writes the master."""

    def __init__(self, data: bytes, seed: int = 0, max_chunk: int = 37) -> None:
        self.data = data
        self.rng = random.Random(seed)
        self.max_chunk = max_chunk
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no CR/LF translation (shared PITFALLS.md)
        self.url = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write, name="pty-byte-source")

    def start(self) -> PtyByteSource:
        # Start after the reader opened the port: pyserial flushes input on open.
        self._thread.start()
        return self

    def _write(self) -> None:
        for chunk in _chunks(self.data, self.rng, self.max_chunk):
            if self._stop.is_set():
                return
            os.write(self.master, chunk)
            time.sleep(self.rng.random() * 0.0005)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        os.close(self.master)
        os.close(self.slave)
