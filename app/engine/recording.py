"""The app's Record: a recording named by one base path, its keypoints as JSON lines beside an
annotated MP4, checked as ``infer`` checks its outputs (never over the media being read), and
kept only when it holds something.  What became of it is said in one line for the status bar.
"""

from __future__ import annotations

from app.engine.frame_run import SourceInfo
from app.engine.output import PoseRecorder


def start_recording(base_path: str, media: SourceInfo | None) -> PoseRecorder:
    """``base_path`` + .jsonl and .mp4, at the media's frame rate; OutputError when they may
    not be written there.  Each replaces its file only when the recording is finished."""
    keypoints, video = base_path + ".jsonl", base_path + ".mp4"
    PoseRecorder.check(keypoints, video, inputs=[media.path] if media and media.path else [])
    return PoseRecorder(keypoints, video, media.fps if media else None)


def finish_recording(recorder: PoseRecorder) -> str:
    """Finishes both files, kept unless nothing was recorded, and says what became of them.
    OutputError when they could not be saved."""
    recorder.close(recorder.lines > 0)  # closed already if a file failed: as it was
    if recorder.kept:
        assert recorder.video is not None
        return (f"Saved {recorder.frames} frames to {recorder.video.path} and "
                f"{recorder.keypoints.path}")
    if recorder.frames:  # a failed file's recorder could not keep them
        return "The recording could not be saved"
    return "Recording stopped before its first frame: nothing was saved"
