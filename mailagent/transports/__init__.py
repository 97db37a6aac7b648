"""How mail leaves: one small interface, one module per way of sending."""

from mailagent.transports.base import PermanentFailure, TemporaryFailure, Transport

__all__ = ["PermanentFailure", "TemporaryFailure", "Transport"]
