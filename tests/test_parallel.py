"""A local process pool and a Dask LocalCluster give the same detections as one process."""

import numpy as np
import pytest

import geotally

pytestmark = pytest.mark.slow


def key(res):
    d = res.detections
    return np.sort(np.round(np.column_stack([d.geometry.centroid.x, d.geometry.centroid.y, d["score"]]), 4), axis=0)


@pytest.fixture(scope="module")
def single(border_scene):
    return geotally.count(border_scene["scene"], tile_size=512, overlap=128)


def test_process_pool_matches_single_process(border_scene, single):
    pooled = geotally.count(border_scene["scene"], tile_size=512, overlap=128, workers=2)
    assert len(single.detections) > 0
    np.testing.assert_array_equal(key(pooled), key(single))
    # the report's picture: workers send their pieces back, so it equals the single-process one
    np.testing.assert_array_equal(pooled.preview, single.preview)
    assert single.preview.mean() > 20  # a picture, not an empty frame


def test_dask_local_cluster_matches_single_process(border_scene, single):
    pytest.importorskip("distributed")
    dasked = geotally.count(border_scene["scene"], tile_size=512, overlap=128, dask="local:2")
    np.testing.assert_array_equal(key(dasked), key(single))
    np.testing.assert_array_equal(dasked.preview, single.preview)
