"""The per-device state machine on its own: normal → pending → firing → normal."""

from __future__ import annotations

from alerting.engine.threshold import Phase, ThresholdState, Transition

T = 1_767_225_600_000


def _step(state: ThresholdState, ts: int, value: float, *, limit: float = 10.0,
          recover: float | None = None, for_s: int = 0,
          repeat: int = 1) -> Transition | None:  # fmt: skip
    matched = value > limit
    recovered = value < recover if recover is not None else not matched
    return state.step(
        ts=ts, value=value, matched=matched, recovered=recovered, for_s=for_s, repeat=repeat
    )


def test_fires_at_once_without_for_s_or_repeat_and_resolves_when_the_condition_ends() -> None:
    state = ThresholdState()
    assert _step(state, T, 5) is None
    fired = _step(state, T + 1000, 12)
    assert fired is not None
    assert (fired.status, fired.observed_ms, fired.value) == ("firing", T + 1000, 12)
    assert _step(state, T + 2000, 15) is None  # still firing: nothing new
    resolved = _step(state, T + 3000, 9)
    assert resolved is not None
    assert resolved.status == "resolved"
    assert state.phase is Phase.NORMAL


def test_repeat_needs_consecutive_readings_and_one_good_reading_resets() -> None:
    state = ThresholdState()
    assert _step(state, T, 12, repeat=3) is None
    assert _step(state, T + 1, 12, repeat=3) is None
    assert state.phase is Phase.PENDING
    assert _step(state, T + 2, 8, repeat=3) is None  # reset
    assert (state.phase, state.count) == (Phase.NORMAL, 0)
    assert _step(state, T + 3, 12, repeat=3) is None
    assert _step(state, T + 4, 12, repeat=3) is None
    fired = _step(state, T + 5, 13, repeat=3)
    assert fired is not None
    assert fired.observed_ms == T + 5


def test_for_s_counts_device_time_from_the_first_matching_reading() -> None:
    state = ThresholdState()
    assert _step(state, T, 25, for_s=30) is None
    assert _step(state, T + 29_000, 25, for_s=30) is None
    fired = _step(state, T + 30_000, 25, for_s=30)
    assert fired is not None
    assert fired.observed_ms == T + 30_000


def test_a_short_spike_under_for_s_never_fires() -> None:
    state = ThresholdState()
    assert _step(state, T, 25, for_s=30) is None
    assert _step(state, T + 2_000, 1, for_s=30) is None  # the lorry has passed
    assert _step(state, T + 40_000, 25, for_s=30) is None  # a new spike starts a new count
    assert state.since_ms == T + 40_000


def test_held_until_fires_a_pending_state_by_the_clock() -> None:
    state = ThresholdState()
    assert _step(state, T, 25, for_s=30) is None
    assert state.held_until(T + 29_999, for_s=30, repeat=1) is None
    fired = state.held_until(T + 31_000, for_s=30, repeat=1)
    assert fired is not None
    assert (fired.status, fired.observed_ms, fired.value) == ("firing", T + 30_000, 25)
    assert state.held_until(T + 60_000, for_s=30, repeat=1) is None  # once


def test_hysteresis_keeps_firing_between_recover_and_condition() -> None:
    state = ThresholdState()
    assert _step(state, T, 12, recover=5) is not None
    assert _step(state, T + 1, 8, recover=5) is None  # below 10 but not below 5
    assert state.phase is Phase.FIRING
    resolved = _step(state, T + 2, 4, recover=5)
    assert resolved is not None
    assert resolved.status == "resolved"


def test_a_redelivered_or_older_reading_changes_nothing() -> None:
    state = ThresholdState()
    assert _step(state, T + 10, 12, repeat=2) is None
    assert _step(state, T + 10, 12, repeat=2) is None  # the same reading again
    assert _step(state, T + 5, 12, repeat=2) is None  # an older one
    assert state.count == 1
    assert _step(state, T + 11, 12, repeat=2) is not None
