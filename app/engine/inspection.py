"""Every labelled person scored one by one, so the user can see where the model is wrong: the
inspector's table, ``eval``'s figures, its worst people's drawings and its CSV all come from
one :func:`inspect`, so they cannot disagree.

With the true box, people go through the network in ``eval``'s batches of 32
(:func:`app.engine.scoring.predict_batch`), so the report's evaluation equals ``eval``'s to the
last digit; with none, each photo goes through the app's own pipeline as a still
(:func:`app.engine.scoring.run_still_as_shown`), as the camera would see it.  Photos are read
a batch at a time, never all at once (a thousand decoded photos are gigabytes), and a photo
that cannot be read costs its people, not the run.

A ``prepare`` function may change each photo as it is read (``eval --as-webcam`` shows it as a
webcam would); the report keeps it, so the drawings show the photo that was scored.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.atomic_write import write_atomically
from app.engine.drawing import SIDE_COLOURS, draw_limbs, draw_pose, line_width
from app.engine.image_files import UnreadableImage, read_image
from app.engine.labelled_data import Annotation, ground_truth_box
from app.engine.output_paths import SNAPSHOT, OutputError, OutputKind, check_outputs
from app.engine.pipeline import PipelineOptions, PosePipeline
from app.engine.scoring import (
    STILL_FRAMES,
    Evaluation,
    Predictions,
    can_measure,
    person_view,
    predict_batch,
    predictions_of,
    run_still_as_shown,
    score,
)
from app.pose.affine import CropBox, warp_crop
from app.pose.metrics import mirrored_hits, pck_hits
from app.pose.skeleton import Skeleton

# People per network batch: eval's own, so the figures agree; Cancel is heard between batches.
BATCH = 32

# What a photo becomes before it is scored, given the photo and a person on it.  A photo holding
# several people is prepared once for all of them, so it should depend on the photo alone.
Prepare = Callable[[np.ndarray, Annotation], np.ndarray]

TABLE = OutputKind("table of people (CSV)", (".csv",))
MISSED_COLOUR = (40, 40, 230)  # BGR red: the line from a missed joint to where it belongs


@dataclass(frozen=True, eq=False)
class PersonScore:
    """One person as the model saw them: every stack's joints beside the truth, and how they
    scored at the last stack run."""

    row: int  # position in the inspected people: a stable id
    annotation: Annotation
    name: str  # "im0042.jpg", or "000000123.jpg #2" where a photo holds several people
    pck: float  # percent of counted joints hit, last stack
    per_stack_pck: tuple[float, ...]
    keypoints: np.ndarray  # (K, J, 2) image pixels
    confidences: np.ndarray  # (K, J) peak heights
    hits: np.ndarray  # (J,) bool, last stack
    counted: np.ndarray  # (J,) bool: labelled, and the torso measurable
    radius: float  # the PCK radius in image pixels
    mirrored: bool  # hits more with left and right exchanged (as scoring.score counts)
    joint_names: tuple[str, ...]
    box: CropBox  # the crop the joints came from: the true box, or the pipeline's own

    @property
    def missed(self) -> tuple[str, ...]:
        return tuple(name for name, hit, counted in zip(self.joint_names, self.hits,
                                                        self.counted, strict=True)
                     if counted and not hit)

    @property
    def min_confidence(self) -> float:
        """The weakest counted joint's last-stack confidence: a low one flags a doubtful
        answer even where it happened to hit."""
        return float(self.confidences[-1][self.counted].min(initial=math.inf))


@dataclass(frozen=True)
class SkippedPerson:
    name: str
    reason: str


@dataclass
class InspectionReport:
    people: list[PersonScore]
    skipped: list[SkippedPerson]  # photos that could not be read, one entry per person
    evaluation: Evaluation  # of exactly ``people``: eval's figures
    box_free: bool
    joint_names: tuple[str, ...]
    unmeasured: int = 0  # people without a labelled torso, whom PCK cannot score (as eval)
    flip: bool = False  # the flip test was on (person_heatmaps should match)
    predictions: Predictions | None = None  # every person's, for curves (eval's --plot)
    prepare: Prepare | None = None  # what each photo became before it was scored

    def photo(self, person: PersonScore) -> np.ndarray:
        """The person's photo as it was scored: read again (a thousand are not kept), and
        prepared again."""
        return scored_photo(person.annotation, self.prepare)

    def worst(self, count: int) -> list[PersonScore]:
        """Lowest PCK first; among equals, the least confident first (a person whose torso
        has no length, so no PCK, last)."""
        return sorted(self.people, key=lambda p: (math.isnan(p.pck), p.pck,
                                                  p.min_confidence))[:count]

    def with_missed(self, joint: str) -> list[PersonScore]:
        return [p for p in self.people if joint in p.missed]


def inspect(pipeline: PosePipeline, annotations: Sequence[Annotation], *,
            box_free: bool = False, stacks: int | None = None, flip: bool = False,
            threshold: float = 0.2, progress: Callable[[int, int], None] | None = None,
            cancelled: Callable[[], bool] | None = None, prepare: Prepare | None = None
            ) -> InspectionReport | None:
    """Score every person; None when ``cancelled`` said so between batches.  ``progress``
    hears (people done, people to do) before the first batch and after each (a person at a
    time with no box: each costs several frames of the pipeline)."""
    skeleton = pipeline.spec.skeleton
    names = person_names(annotations)
    rows = [row for row, a in enumerate(annotations) if can_measure(a, skeleton)]
    people: list[PersonScore] = []
    skipped: list[SkippedPerson] = []
    scored: list[Predictions] = []
    predict = _predict_alone if box_free else _predict_in_true_boxes
    if progress is not None:
        progress(0, len(rows))
    done = 0
    for batch in _read_in_batches(annotations, rows, names, 1 if box_free else BATCH, prepare):
        if cancelled is not None and cancelled():
            return None
        skipped += batch.unreadable
        if batch.rows:
            joints, confidences, boxes = predict(pipeline, batch.usable, stacks, flip)
            predictions = predictions_of(joints, batch.usable, skeleton)
            scored.append(predictions)
            people += _person_scores(batch, names, predictions, confidences, boxes, threshold,
                                     skeleton)
        done += len(batch.rows) + len(batch.unreadable)
        if progress is not None:
            progress(done, len(rows))
    predictions = _joined(scored, skeleton.num_joints)
    return InspectionReport(people, skipped, score(predictions, skeleton, threshold), box_free,
                            skeleton.joint_names, len(annotations) - len(rows), flip,
                            predictions, prepare)


def person_names(annotations: Sequence[Annotation]) -> list[str]:
    """Each person's photo by name, numbered where a photo holds several people."""
    people_in = Counter(a.image_path for a in annotations)
    seen: Counter[Path] = Counter()
    names = []
    for a in annotations:
        seen[a.image_path] += 1
        number = f" #{seen[a.image_path]}" if people_in[a.image_path] > 1 else ""
        names.append(a.image_path.name + number)
    return names


@dataclass
class _Batch:
    rows: list[int]
    usable: list[tuple[Annotation, np.ndarray]]  # each row's person and photo
    unreadable: list[SkippedPerson]  # skipped on the way for a photo that cannot be read


def scored_photo(annotation: Annotation, prepare: Prepare | None) -> np.ndarray:
    """The person's photo, read and prepared: UnreadableImage where it cannot be read."""
    image = read_image(annotation.image_path)
    return image if prepare is None else prepare(image, annotation)


def _read_in_batches(annotations: Sequence[Annotation], rows: list[int], names: list[str],
                     size: int, prepare: Prepare | None) -> Iterator[_Batch]:
    """Batches of ``size`` readable people.  A photo stays in hand for the people after it on
    the same photo, and is let go with its batch."""
    batch = _Batch([], [], [])
    path: Path | None = None
    image: np.ndarray | UnreadableImage | None = None
    for row in rows:
        annotation = annotations[row]
        if annotation.image_path != path:
            path = annotation.image_path
            try:
                image = scored_photo(annotation, prepare)
            except UnreadableImage as error:
                image = error
        if isinstance(image, UnreadableImage):
            batch.unreadable.append(SkippedPerson(names[row], image.reason))
            continue
        batch.rows.append(row)
        batch.usable.append((annotation, image))
        if len(batch.rows) == size:
            yield batch
            batch = _Batch([], [], [])
    if batch.rows or batch.unreadable:
        yield batch


def _predict_in_true_boxes(pipeline: PosePipeline, usable: list[tuple[Annotation, np.ndarray]],
                           stacks: int | None, flip: bool
                           ) -> tuple[np.ndarray, np.ndarray, list[CropBox]]:
    """(K, B, J, 2) joints and (K, B, J) confidences in the true boxes, as eval batches."""
    joints, confidences = predict_batch(pipeline.predictor, usable, stacks, flip)
    return joints, confidences, [ground_truth_box(a) for a, _ in usable]


def _predict_alone(pipeline: PosePipeline, usable: list[tuple[Annotation, np.ndarray]],
                   stacks: int | None, flip: bool
                   ) -> tuple[np.ndarray, np.ndarray, list[CropBox]]:
    """The same, each person's photo (their region of it, where it holds others) shown to the
    pipeline as a still: its last frame's every stack, in photo pixels (that frame's last
    stack is what scoring.predict_live scores)."""
    options = PipelineOptions(stacks=stacks, flip=flip, smoothing=False, keep_heatmaps=True)
    joints, confidences, boxes = [], [], []
    for annotation, image in usable:
        view, offset = person_view(annotation, image)
        result = run_still_as_shown(pipeline, view, STILL_FRAMES, options)[-1]
        joints.append(result.stack_keypoints + offset)
        confidences.append(pipeline.spec.codec.decode(result.heatmaps, "none")[1])
        boxes.append(CropBox(result.box.cx + offset[0], result.box.cy + offset[1],
                             result.box.side))
    return np.stack(joints, axis=1), np.stack(confidences, axis=1), boxes


def _person_scores(batch: _Batch, names: list[str], predictions: Predictions,
                   confidences: np.ndarray, boxes: list[CropBox], threshold: float,
                   skeleton: Skeleton) -> list[PersonScore]:
    """Each person's PCK per stack, joints hit, and whether they read better mirrored: the
    per-person view of what scoring.score sums up."""
    truth, visible, torso = predictions.truth, predictions.visible, predictions.torso
    per_stack = [pck_hits(joints, truth, visible, torso, threshold)
                 for joints in predictions.joints]
    hits, counted = np.stack([h for h, _ in per_stack]), per_stack[0][1]  # (K, B, J), (B, J)
    with np.errstate(divide="ignore", invalid="ignore"):
        pck = 100.0 * hits.sum(axis=2) / counted.sum(axis=1)  # (K, B)
    mirrored, _ = mirrored_hits(predictions.joints[-1], truth, visible, torso,
                                skeleton.flip_permutation(), threshold)
    return [PersonScore(row=row, annotation=annotation, name=names[row], pck=float(pck[-1, i]),
                        per_stack_pck=tuple(float(v) for v in pck[:, i]),
                        keypoints=predictions.joints[:, i].copy(),
                        confidences=confidences[:, i].copy(), hits=hits[-1, i],
                        counted=counted[i], radius=float(threshold * torso[i]),
                        mirrored=bool(mirrored[i]), joint_names=skeleton.joint_names,
                        box=boxes[i])
            for i, (row, (annotation, _)) in enumerate(zip(batch.rows, batch.usable,
                                                           strict=True))]


def _joined(scored: list[Predictions], joints: int) -> Predictions:
    """One batch's predictions after another, as one."""
    if not scored:
        return Predictions(np.zeros((0, 0, joints, 2)), np.zeros((0, joints, 2)),
                           np.zeros((0, joints), bool), np.zeros(0))
    return Predictions(np.concatenate([p.joints for p in scored], axis=1),
                       *(np.concatenate([getattr(p, field) for p in scored])
                         for field in ("truth", "visible", "torso")))


def person_heatmaps(pipeline: PosePipeline, person: PersonScore, image: np.ndarray, *,
                    box_free: bool = False, flip: bool = False) -> np.ndarray:
    """(K, J, h, w) heatmaps of every stack the person was scored with, in the crop their
    joints came from (the true box; with ``box_free`` the pipeline's last box, in what the
    pipeline was shown), of ``image`` as it was scored (:meth:`InspectionReport.photo`).
    Computed when asked: kept for a thousand people they would be gigabytes."""
    view, (left, top) = person_view(person.annotation, image) if box_free else (image, (0, 0))
    box = CropBox(person.box.cx - left, person.box.cy - top, person.box.side)
    crop = warp_crop(view, box, pipeline.spec.input_size)[0]
    return pipeline.predictor(crop[None], len(person.keypoints), flip)[:, 0]


def draw_truth_and_prediction(image: np.ndarray, person: PersonScore, skeleton: Skeleton
                              ) -> np.ndarray:
    """A copy of the photo with the truth and the prediction together, told apart by fill:
    the truth hollow on thin limbs, the prediction filled (coloured by confidence, as the app
    draws it live), a red line from each missed joint to where it belongs, and the PCK radius
    as a faint ring around each counted truth joint (a joint hits inside its ring)."""
    drawn = image.copy()
    width = line_width(drawn)
    thin = max(1, width // 2)
    truth = np.round(person.annotation.joints).astype(int)
    labelled = person.annotation.visible
    rings = drawn.copy()
    for joint in np.flatnonzero(person.counted):
        cv2.circle(rings, tuple(truth[joint]), max(1, round(person.radius)), (255, 255, 255), 1,
                   cv2.LINE_AA)
    cv2.addWeighted(rings, 0.4, drawn, 0.6, 0.0, dst=drawn)
    draw_limbs(drawn, truth, labelled, skeleton, thin)
    for joint in np.flatnonzero(labelled):
        cv2.circle(drawn, tuple(truth[joint]), width + 2, SIDE_COLOURS[skeleton.side(joint)],
                   thin, cv2.LINE_AA)
    predicted = person.keypoints[-1]
    for joint in np.flatnonzero(person.counted & ~person.hits):
        cv2.line(drawn, tuple(np.round(predicted[joint]).astype(int)), tuple(truth[joint]),
                 MISSED_COLOUR, thin, cv2.LINE_AA)
    return draw_pose(drawn, predicted, person.confidences[-1], skeleton, threshold=0.0)


def write_table_csv(report: InspectionReport, path: str | Path,
                    people: Sequence[PersonScore] | None = None) -> None:
    """The table, one row per person (``people`` in the order shown, else worst first): a
    joint's column is 1 hit, 0 missed, blank where it is not counted."""
    rows = report.worst(len(report.people)) if people is None else people
    text = io.StringIO()
    table = csv.writer(text, lineterminator="\n")
    table.writerow(["image", "pck", "missed", "mirrored", "min_confidence",
                    *report.joint_names])
    for person in rows:
        hits = ["" if not counted else int(hit)
                for hit, counted in zip(person.hits, person.counted, strict=True)]
        table.writerow([person.name, f"{person.pck:.2f}", ";".join(person.missed),
                        int(person.mirrored), f"{person.min_confidence:.3f}", *hits])
    _write(path, text.getvalue().encode("utf-8"))


def drawing_name(rank: int, person: PersonScore) -> str:
    """``001-im0042.png``: the rank first, so a folder lists worst first."""
    image, _, number = person.name.partition(" #")
    return f"{rank:03d}-{Path(image).stem}{'-' + number if number else ''}.png"


def write_worst_drawings(report: InspectionReport, count: int, folder: str | Path,
                         skeleton: Skeleton) -> list[Path]:
    """The ``count`` worst people drawn (:func:`draw_truth_and_prediction`) into ``folder``,
    made if missing, each PNG replaced whole.  OutputError before anything is written where
    one would land on a photo of the dataset, or cannot be written."""
    worst = report.worst(count)
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{folder}: cannot make this folder ({error.strerror})") from error
    targets = check_outputs([(folder / drawing_name(rank, person), SNAPSHOT)
                             for rank, person in enumerate(worst, 1)],
                            inputs=[p.annotation.image_path for p in report.people])
    for person, target in zip(worst, targets, strict=True):
        drawing = draw_truth_and_prediction(report.photo(person), person, skeleton)
        _write(target, cv2.imencode(".png", drawing)[1].tobytes())
    return targets


def _write(path: str | Path, content: bytes) -> None:
    try:
        write_atomically(path, content)
    except OSError as error:
        raise OutputError(f"{path}: could not be written ({error.strerror or error})"
                          ) from error
