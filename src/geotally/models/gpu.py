"""Is there a CUDA GPU? Asked of the driver directly, so CPU machines never pay for importing torch."""

from __future__ import annotations

import ctypes
import sys
from functools import lru_cache


def _driver_devices() -> int:
    """CUDA devices the installed NVIDIA driver reports; 0 without a driver."""
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        cuda = ctypes.CDLL(name)
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value


@lru_cache(maxsize=1)
def cuda_available() -> bool:
    """True when torch can run on a CUDA device.

    The driver is asked first (milliseconds); torch (seconds to import) only confirms when
    the driver reports a device, since a CPU-only torch build cannot use it.
    """
    if sys.platform == "darwin" or _driver_devices() == 0:
        return False
    try:
        import torch
    except ImportError:  # the light install: ONNX Runtime only
        return False

    return bool(torch.cuda.is_available())
