"""The window's one line to the pose worker: the thread it runs in, the worker, and the
requests the window sends it.

Two threads, and only queued signals between them.  A request is a signal of the link, named
after the worker's slot it reaches and queued to it, so the slot runs in the worker's thread
between frames; a report is one of the worker's own signals (``link.worker.frame_ready`` and
the others), which Qt queues to the window because the worker lives in the other thread.  The
window never calls the worker's methods nor reads its state: the link holds the worker only so
that its reports can be connected.

Two signals are easily confused, so their names say which is which: ``acknowledge_report``
goes to the worker once the window has drawn a frame report (the worker holds back while too
many are undrawn: the back-pressure), while the window's own ``frame_displayed`` tells whoever
watches the window (the self-test, the tests) that a frame is on screen.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.gui.thread_link import ThreadLink
from app.gui.worker import PoseWorker


class WorkerLink(ThreadLink):
    """Owns the pose worker's thread and the worker; :meth:`start` and :meth:`stop` them."""

    # Requests, each queued to the worker's slot of the same name (and ``shutdown``, by stop()).
    open_source = Signal(object)  # SourceRequest
    set_options = Signal(object)  # PipelineOptions
    load_model = Signal(str)  # a checkpoint's path; "" for the shipped model
    set_device = Signal(str)  # an entry of the device list
    set_playing = Signal(bool)
    step = Signal()
    set_loop = Signal(bool)
    start_recording = Signal(str)  # the recording's base path
    stop_recording = Signal()
    find_cameras = Signal()
    choose_person = Signal(object)  # PersonChoice, or None: follow whoever is found
    acknowledge_report = Signal()  # a frame report is drawn: the worker may send another

    def __init__(self, parent: QObject) -> None:
        super().__init__(PoseWorker(), "pose-worker", parent)
        self.worker_thread.started.connect(self.worker.start)

    def start(self) -> None:
        """Start the thread: the worker answers the requests sent so far, in order (the
        device, then the model to load, come first)."""
        self.worker_thread.start()
