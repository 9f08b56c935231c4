"""Recording a program on real time: ``asyncsim record`` and the comparison with its replay."""

from asyncsim.recording.harness import (
    Comparison,
    Recording,
    compare,
    pool,
    record_script,
    replay_script,
)
from asyncsim.recording.loop import RealClock, RecordingEventLoop

__all__ = [
    "Comparison",
    "RealClock",
    "Recording",
    "RecordingEventLoop",
    "compare",
    "pool",
    "record_script",
    "replay_script",
]
