"""mailagent: tracks IRO and CP chair escalations up a council's management ladder by email."""

__version__ = "0.1.0"
