"""The rules engine: pure functions and state machines, no I/O, driven by decoded messages.

One module per concept: ``conditions`` (does a condition hold), ``threshold`` (the per-device
state machine), ``nodata`` (silent devices), ``correlation`` (area incidents), ``overrides``
(per area or device), ``devices`` (what is known of each device), ``places`` (roster names
and positions), ``events`` (AlertEvents with a Chinese summary), ``clock``, and
``evaluator``, which ties them together.
"""

from alerting.engine.clock import Clock, ManualClock, SystemClock
from alerting.engine.devices import DeviceRecord
from alerting.engine.evaluator import Evaluator

__all__ = ["Clock", "DeviceRecord", "Evaluator", "ManualClock", "SystemClock"]
