import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Geod

from geotally.detect.boxes import xywhr_to_corners
from geotally.geo.footprints import footprints
from geotally.geo.transform import map_to_pixel, map_to_wgs84, pixel_to_map, wgs84_to_map

UTM = CRS.from_epsg(32638)
WGS = CRS.from_epsg(4326)


@pytest.mark.parametrize("crs,transform", [
    (UTM, Affine(0.3, 0, 284123.0, 0, -0.3, 4114345.0)),
    (WGS, Affine(3e-6, 0, 42.55, 0, -3e-6, 37.16)),
])
def test_pixel_map_wgs84_round_trip(crs, transform):
    rng = np.random.default_rng(0)
    px = rng.uniform(0, 5000, (100, 2))
    xy = pixel_to_map(transform, px)
    ll = map_to_wgs84(crs, xy)
    assert (np.abs(ll[:, 0] - 42.56) < 0.1).all() and (np.abs(ll[:, 1] - 37.15) < 0.1).all()
    back = map_to_pixel(transform, wgs84_to_map(crs, ll))
    np.testing.assert_allclose(back, px, atol=1e-5)


def _truck_corners_px(gsd_x, gsd_y, heading_deg, length=17.0, width=2.5):
    """A truck of known metres drawn in pixel space (rows grow southwards)."""
    h = np.radians(heading_deg)
    # pixel-space angle of the long axis: x east, y down (south)
    ang = np.arctan2(-np.cos(h) / gsd_y, np.sin(h) / gsd_x)
    along = np.hypot(np.sin(h) * length / gsd_x, np.cos(h) * length / gsd_y)
    across = np.hypot(np.cos(h) * width / gsd_x, np.sin(h) * width / gsd_y)
    return xywhr_to_corners(np.array([[500, 500, along, across, ang]]))


def test_lengths_in_metres_in_utm():
    t = Affine(0.3, 0, 500000.0, 0, -0.3, 4110000.0)  # on the central meridian: scale 0.9996
    fp = footprints(_truck_corners_px(0.3, 0.3, 30.0), t, UTM)
    # a grid metre on the central meridian is 1/0.9996 ground metres; no grid convergence there
    assert fp.length_m[0] == pytest.approx(17.0 / 0.9996, rel=2e-4)
    assert fp.width_m[0] == pytest.approx(2.5 / 0.9996, rel=2e-4)
    assert fp.heading_deg[0] == pytest.approx(30.0, abs=0.05)


def _truck_corners_lonlat(lon, lat, heading, length=17.0, width=2.5):
    """Corners of a truck laid out on the ellipsoid with geodesic steps."""
    g = Geod(ellps="WGS84")
    out = []
    for along, side in ((1, 1), (1, -1), (-1, -1), (-1, 1)):
        lo, la, _ = g.fwd(lon, lat, heading if along > 0 else heading + 180, length / 2)
        lo, la, _ = g.fwd(lo, la, heading + 90 * side, width / 2)
        out.append((lo, la))
    return np.array([out])


def test_lengths_in_metres_in_geographic_crs():
    lat = 37.15
    t = Affine(2.7e-6, 0, 42.55, 0, -2.7e-6, lat + 500 * 2.7e-6)
    for heading in (0.0, 45.0, 100.0):
        corners = map_to_pixel(t, _truck_corners_lonlat(42.55 + 500 * 2.7e-6, lat, heading))
        fp = footprints(corners, t, WGS)
        assert fp.length_m[0] == pytest.approx(17.0, rel=1e-2)
        assert fp.width_m[0] == pytest.approx(2.5, rel=2e-2)
        diff = abs(fp.heading_deg[0] - heading % 180)
        assert min(diff, 180 - diff) < 1.0
        assert fp.lonlat[0, 1] == pytest.approx(lat, abs=1e-4)


def test_no_crs_uses_local_metres():
    t = Affine.scale(0.2, -0.2)
    fp = footprints(_truck_corners_px(0.2, 0.2, 90.0), t, None)
    assert fp.length_m[0] == pytest.approx(17.0, rel=1e-6)
    assert fp.heading_deg[0] == pytest.approx(90.0, abs=1e-6)
    assert np.isnan(fp.lonlat).all()


@pytest.mark.parametrize("epsg, lonlat", [(3857, (42.68, 37.13)), (3395, (42.68, 37.13)), (4326, (42.68, 37.13)),
                                          (32638, (42.68, 37.13)), (2263, (-74.0, 40.7))])
def test_metres_are_metres_on_the_ground_in_any_crs(epsg, lonlat):
    """100 m east and 100 m north on the ellipsoid measure 100 m whatever the scene's CRS: Web Mercator
    stretches the ground by 1/cos(latitude) (1.26 at Zakho) and is measured in UTM instead."""
    from geotally.geo.metric import metric_geometries, scenes_metric_crs, to_metric
    import shapely

    crs = CRS.from_epsg(epsg)
    lon, lat = lonlat
    lons, lats, _ = Geod(ellps="WGS84").fwd([lon, lon], [lat, lat], [90, 0], [100, 100])
    pts = wgs84_to_map(crs, np.array([[lon, lat], [lons[0], lats[0]], [lons[1], lats[1]]]))
    m = to_metric(pts, crs)
    assert np.hypot(*(m[1] - m[0])) == pytest.approx(100, abs=0.5)
    assert np.hypot(*(m[2] - m[0])) == pytest.approx(100, abs=0.5)
    square = wgs84_to_map(crs, np.array(Geod(ellps="WGS84").fwd([lon] * 4, [lat] * 4, [45, 135, 225, 315],
                                                                   [500 * 2 ** 0.5] * 4)[:2]).T)
    area = shapely.area(metric_geometries(np.array([shapely.Polygon(square)]), crs))[0]
    assert area == pytest.approx(1e6, rel=0.01)  # a square kilometre
    scene = type("S", (), dict(transform=Affine(1, 0, pts[0, 0], 0, -1, pts[0, 1]), width=10, height=10, crs=crs))
    back = to_metric(pts, crs, scenes_metric_crs([scene], crs))
    assert np.hypot(*(back[1] - back[0])) == pytest.approx(100, abs=0.5)
