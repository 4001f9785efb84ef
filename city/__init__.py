"""The shared domain and wire contract: city model, device kinds, payloads, topics, schema.

Every service imports this package; it imports none of them.
"""

from city.kinds import Kind
from city.rejections import Reason
from city.topology import Area, City, CityModelError, default_city, load_city

__all__ = ["Area", "City", "CityModelError", "Kind", "Reason", "default_city", "load_city"]
