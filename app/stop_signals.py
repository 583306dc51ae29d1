"""Ctrl-C and ``kill`` end a long run the way its own end would: after the unit in hand.

``infer`` finishes the frame in hand so its video plays and its JSON is whole; ``train``
finishes the step in hand and saves a resumable ``last.pt``.  Both ask one
:class:`StopSignals` after each unit whether to stop.
"""

from __future__ import annotations

import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM (``kill``, ``timeout``, a logout) ask a run to stop after
    the unit in hand, so its outputs are finished as at its end.  A second signal stops at
    once, with a KeyboardInterrupt."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # where Python allows them
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._received)
        return self

    def _received(self, number: int, _frame: object) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = number

    def __exit__(self, *_: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def ignore_ctrl_c(_worker: int = 0) -> None:
    """For a helper process (a data loader's worker): Ctrl-C in a terminal signals the whole
    process group, and a helper that died of it would leave its parent waiting for a batch
    that never comes, instead of saving.  The parent decides when the run ends, and ends its
    helpers (SIGTERM still reaches them)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
