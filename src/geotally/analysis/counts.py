"""Vehicle counts per zone and class: the stable table behind counts.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geotally.models.classes import VEHICLE_CLASSES

ALL = "ALL"
COLUMNS = ["zone", "class", "count"]


def count_table(zone: np.ndarray, cls: np.ndarray, zone_names: list[str],
                classes: tuple[str, ...] = VEHICLE_CLASSES) -> pd.DataFrame:
    """One row per (zone, class), zeros included, then ``zone=ALL`` totals per class.

    Only vehicle classes are counted; other detections (ships, planes…) stay in the
    detections file but not in this table.
    """
    zones_order = list(dict.fromkeys(list(zone_names) + sorted(set(map(str, zone)) - set(zone_names))))
    zone = np.asarray(zone, dtype=object).astype(str)
    cls = np.asarray(cls, dtype=object).astype(str)
    rows = []
    for z in zones_order + [ALL]:
        in_zone = np.ones(len(zone), bool) if z == ALL else zone == z
        for c in classes:
            rows.append((z, c, int(np.count_nonzero(in_zone & (cls == c)))))
    return pd.DataFrame(rows, columns=COLUMNS)
