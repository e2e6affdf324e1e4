"""How a count runs, stage by stage: the model prepared once, each scene detected, overlaps settled
on the raw detections, one analysis pass over every scene, then the provenance. ``geotally.api``
is the public face of it."""
