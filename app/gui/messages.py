"""What the window says when something fails, and which ways on it offers.

The worker names the kind of failure (:class:`Failure`) and what happened; this module decides
the form.  Where nothing can be shown (no source, no model at all), a panel over the video says
why and offers ways on; where the video goes on (another checkpoint refused, a recording or
snapshot not saved, the device changed), a warning that does not block.  Nothing here draws:
the window shows what these functions return, and wires each button to what it offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from pathlib import Path

from app.engine.camera_access import camera_refusal
from app.gui.worker import Failure
from app.paths import default_checkpoint


class WayOn(Enum):
    """A button of a panel: what the window does when it is pressed."""

    OPEN_FILE = auto()
    REOPEN_LAST = auto()  # the file or folder last opened
    OPEN_CAMERA = auto()
    LOOK_FOR_CAMERAS = auto()
    OPEN_CHECKPOINT = auto()
    BUILT_IN_MODEL = auto()


@dataclass(frozen=True)
class Panel:
    """A message over the video, with its buttons (label, what it does)."""

    title: str
    detail: str
    ways_on: tuple[tuple[str, WayOn], ...] = ()


def failure_notice(kind: Failure, message: str, camera_requested: bool,
                   running_model: str | None) -> Panel | str:
    """A panel, or the text of a warning, for a failure; ``running_model`` names the model
    that goes on running, None when there is none."""
    if kind is Failure.SOURCE:
        refusal = camera_refusal() if camera_requested else None  # privacy settings, say
        title, detail = ((refusal.title, refusal.detail) if refusal is not None
                         else ("This source cannot be shown", message))
        return Panel(title, detail, (("Open a file…", WayOn.OPEN_FILE),
                                     ("Try the camera", WayOn.OPEN_CAMERA)))
    if kind is Failure.MODEL and running_model is None:
        ways_on = [("Open a checkpoint…", WayOn.OPEN_CHECKPOINT)]
        shipped = default_checkpoint()
        if shipped is not None and str(shipped) not in message:
            ways_on.append(("Use the built-in model", WayOn.BUILT_IN_MODEL))
        return Panel("No model is loaded",
                     f"{message}\n\nIf the file was downloaded or copied, it may be incomplete: "
                     "fetch it again, or open another checkpoint.", tuple(ways_on))
    if kind is Failure.MODEL:
        return f"{message}\n\nThe model that was running, {running_model}, goes on."
    return message


def no_camera_panel(last_source: str) -> Panel:
    """No camera delivers frames: why, if the system says, and what to open instead."""
    ways_on = [("Open a file…", WayOn.OPEN_FILE)]
    if last_source and Path(last_source).exists():
        ways_on.append((f"Reopen {Path(last_source).name}", WayOn.REOPEN_LAST))
    ways_on.append(("Try the camera again", WayOn.LOOK_FOR_CAMERAS))
    if (refusal := camera_refusal()) is not None:  # the system's privacy settings, say
        return Panel(refusal.title, refusal.detail, tuple(ways_on))
    return Panel("No camera found",
                 "Hourglass Pose found no working camera. Open a video or a photo instead, or "
                 "connect a camera and try again. You can also drop a file on this window.",
                 tuple(ways_on))
