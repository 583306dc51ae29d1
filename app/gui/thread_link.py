"""A worker object on a QThread of its own, reached only by queued signals: the one way the
window and the inspector each talk to their worker.

A subclass declares its requests as signals named after the worker's slots; each is queued to
the slot of the same name, so the slot runs in the worker's thread.  The worker's reports are
its own signals, which Qt queues back because the worker lives in the other thread.  Every
worker has a ``shutdown`` slot that finishes what it holds and then emits ``shut_down``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal


class ThreadLink(QObject):
    """Owns ``worker`` and the thread it runs in; :meth:`stop` ends both."""

    shutdown = Signal()  # sent by stop(), which also waits for the thread

    def __init__(self, worker: QObject, thread_name: str, parent: QObject) -> None:
        super().__init__(parent)
        self.worker_thread = QThread(self)
        self.worker_thread.setObjectName(thread_name)
        self.worker = worker
        self.worker.moveToThread(self.worker_thread)
        own = type(self).__mro__
        for cls in own[:own.index(ThreadLink) + 1]:  # not QObject's own signals
            for name, attribute in vars(cls).items():
                if isinstance(attribute, Signal):
                    getattr(self, name).connect(getattr(self.worker, name), Qt.QueuedConnection)
        # Direct: the GUI thread may be blocked in stop()'s wait for exactly this quit.
        self.worker.shut_down.connect(self.worker_thread.quit, Qt.DirectConnection)

    def stop(self, timeout_ms: int) -> bool:
        """Ask the worker to finish what it holds and wait up to ``timeout_ms`` for its
        thread; whether it has stopped."""
        if not self.worker_thread.isRunning():
            return True
        self.shutdown.emit()
        return self.worker_thread.wait(timeout_ms)
