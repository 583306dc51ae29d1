"""Ctrl-C on the command line: infer keeps the frames done, loading ends in one line, training
saves a run that resumes.

``pytest -k "fault or soak or corrupt or camera or robust"`` selects the robustness tests of
every file: each of their names carries one of those words.
"""

from __future__ import annotations

import json

import torch
from measures import video_frames

from app.cli import main
from app.engine.sources import FrameSource


class InterruptedSource(FrameSource):
    """Wraps a source; raises KeyboardInterrupt (Ctrl-C) when asked for frame ``after``."""

    def __init__(self, inner: FrameSource, after: int) -> None:
        super().__init__(inner.description)
        self.inner, self.after, self.fps = inner, after, inner.fps
        self.frame_count = inner.frame_count
        self._prime("cannot read")

    def _grab(self):
        if self._index == self.after:
            raise KeyboardInterrupt
        frame = self.inner.read()
        return None if frame is None else (frame.image, frame.timestamp)

    def _release(self) -> None:
        self.inner.close()


def test_fault_ctrl_c_on_infer_keeps_the_frames_done(tiny_checkpoint, lspet_clip, tmp_path,
                                                     monkeypatch, capsys):
    import app.engine.open_media as open_media

    real_open = open_media.open_source
    monkeypatch.setattr(open_media, "open_source",
                        lambda *args, **kwargs: InterruptedSource(real_open(*args, **kwargs), 4))
    out, video = tmp_path / "poses.jsonl", tmp_path / "poses.mp4"
    code = main(["infer", "--input", str(lspet_clip), "--json", str(out), "--out", str(video),
                 "--checkpoint", str(tiny_checkpoint), "--device", "cpu"])
    assert code == 130
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["frame"] for line in lines] == [0, 1, 2, 3]
    assert video_frames(video) == 4
    captured = capsys.readouterr()
    assert "interrupted: keeping the frames done so far" in captured.out + captured.err


def test_fault_ctrl_c_while_loading_is_one_line_not_a_traceback(monkeypatch, tmp_path, capsys,
                                                                lspet_clip):
    import app.model.checkpoint as checkpoint

    def interrupted(path=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "load_model", interrupted)
    code = main(["infer", "--input", str(lspet_clip), "--json", str(tmp_path / "out.jsonl")])
    assert code == 130
    assert capsys.readouterr().err.strip() == "hourglass-pose: interrupted"


def test_fault_ctrl_c_on_train_saves_a_resumable_run(lspet_subset, tmp_path, monkeypatch,
                                                     capsys):
    from app.train.trainer import Trainer

    real_step = Trainer.train_step

    def step_then_interrupt(self, batch=None):
        if self.step == 2:
            raise KeyboardInterrupt
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "train_step", step_then_interrupt)
    run = tmp_path / "run"
    args = ["train", "--data", str(lspet_subset), "--run", str(run), "--stacks", "1",
            "--channels", "16", "--depth", "2", "--input-size", "64", "--batch-size", "2",
            "--held-out", "4", "--eval-every", "100", "--save-every", "100",
            "--max-steps", "5", "--init", str(tmp_path / "none.safetensors")]
    assert main(args) == 130
    captured = capsys.readouterr()
    assert "interrupted: saving" in captured.out + captured.err
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 2
    monkeypatch.setattr(Trainer, "train_step", real_step)
    args[args.index("--max-steps") + 1] = "1"
    assert main(args) == 0
    assert "resumed" in capsys.readouterr().out
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 3
