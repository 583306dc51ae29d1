"""From media to poses: frame sources, the per-frame pipeline, drawing and output writers."""
