"""Model registry, cache, and detector backends behind one interface."""

from geotally.models.registry import DEFAULT_MODEL, REGISTRY, get_spec
from geotally.models.spec import ModelSpec
from geotally.models.cache import cache_dir, ensure_model

__all__ = ["DEFAULT_MODEL", "REGISTRY", "ModelSpec", "get_spec", "cache_dir", "ensure_model"]
