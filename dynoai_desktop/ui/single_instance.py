"""One DynoAI window per user, settings and data folder: ``dynoai FILE`` (a double-clicked tune)
while the app is already open hands FILE to that window, which opens it and comes to the front,
instead of starting a second app beside it (two would compete for the dyno's serial ports).

The window listens on a local socket (a named pipe on Windows) named from the user and the two
folders; a new start asks it first. The request is one JSON line, ``{"open": PATH}`` (or
``{"open": null}``: just come to the front); the answer ``ok``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from dynoai_desktop.ui.main_window import MainWindow

NAME_PREFIX = "dynoai-desktop"
ANSWER_WAIT_MS = 3000  # a window that takes longer is not answering: start a new one
MAX_REQUEST_BYTES = 64 * 1024


def server_name(config_dir: Path, data_dir: Path) -> str:
    """The socket's name: the same for every start with these folders by this user."""
    folders = f"{config_dir.absolute()}|{data_dir.absolute()}"
    user = "".join(c for c in getpass.getuser() if c.isalnum())[:32]
    return f"{NAME_PREFIX}-{user}-{hashlib.sha256(folders.encode()).hexdigest()[:16]}"


def hand_off(name: str, path: Path | None) -> bool:
    """Ask the window already running to open ``path`` (None: to come to the front); True when
    it said it will. Needs a QCoreApplication, not its event loop."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(ANSWER_WAIT_MS):
        return False
    request = {"open": str(path.absolute()) if path is not None else None}
    socket.write(json.dumps(request).encode("utf-8") + b"\n")
    answered = socket.waitForBytesWritten(ANSWER_WAIT_MS) and socket.waitForReadyRead(
        ANSWER_WAIT_MS)
    ok = answered and bytes(socket.readAll().data()).strip() == b"ok"
    socket.disconnectFromServer()
    return ok


class InstanceServer(QObject):
    """The running window's side: opens what later starts hand it."""

    def __init__(self, name: str, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # a socket a crashed start left behind
            if not self.server.listen(name):
                sys.stderr.write(f"dynoai: files double-clicked now will open a second window "
                                 f"(could not listen on {name}: {self.server.errorString()})\n")
        self.server.newConnection.connect(self._accept)

    @property
    def listening(self) -> bool:
        return self.server.isListening()

    def _accept(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() > MAX_REQUEST_BYTES:
                socket.abort()  # not one of ours
            return
        line = bytes(socket.readLine().data())
        try:
            request = json.loads(line)
            target = request["open"]
            path = Path(target) if isinstance(target, str) else None
        except (ValueError, TypeError, KeyError):
            socket.write(b"refused\n")
            return
        socket.write(b"ok\n")
        socket.flush()
        self._come_forward()
        if path is not None:
            QTimer.singleShot(0, lambda: self.window.open_file(path))

    def _come_forward(self) -> None:
        if self.window.isMinimized():
            self.window.showNormal()
        if QGuiApplication.platformName() != "offscreen":  # it warns there: nothing to raise
            self.window.raise_()
            self.window.activateWindow()
