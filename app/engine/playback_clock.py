"""Playing media at its own pace, and saying how fast frames come out.

A file plays at its own speed or slower, never faster: each frame is due when its timestamp
says, counted from the frame that started (or resumed) the playback, so a slow frame delays
the next ones instead of being made up for by a burst.  A still is run again at a steady rate,
so that a change of options shows at once; a camera goes as fast as it delivers.
"""

from __future__ import annotations

import time
from collections import deque

from app.engine.frame_run import SourceInfo

# A still image is re-run at this rate, so changes of stacks or options show at once.
STILL_IMAGE_FPS = 10.0


class PlaybackClock:
    """When the next frame is due, and the rate of the last frames shown."""

    def __init__(self) -> None:
        self._shown: deque[float] = deque(maxlen=30)
        self._clock_start = 0.0
        self._media_start = -1.0  # the media time at _clock_start; negative: not yet set

    def restart(self) -> None:
        """Playback starts or resumes now: the next frame's time is counted from here."""
        self._clock_start = time.monotonic()
        self._media_start = -1.0

    def forget_rate(self) -> None:
        """New media: the rate of the last is no rate of this one."""
        self._shown.clear()

    def frame_shown(self) -> None:
        self._shown.append(time.monotonic())

    @property
    def fps(self) -> float:
        if len(self._shown) < 2:
            return 0.0
        return (len(self._shown) - 1) / (self._shown[-1] - self._shown[0])

    def delay_ms(self, timestamp: float, media: SourceInfo | None) -> int:
        """Until the frame after the one at ``timestamp`` is due (0 for a camera; negative
        when it is late)."""
        if media is None or media.is_live:
            return 0
        fps = media.fps or STILL_IMAGE_FPS
        if self._media_start < 0 or timestamp < self._media_start:  # started, or looped
            self._clock_start, self._media_start = time.monotonic(), timestamp
        due = self._clock_start + (timestamp - self._media_start) + 1.0 / fps
        return int(1000 * (due - time.monotonic()))
