"""Where mail comes from: one small interface, one module per kind of mailbox."""

from __future__ import annotations

from mailagent.sources.base import FetchedMessage, MailSource, SourceError

__all__ = ["FetchedMessage", "MailSource", "SourceError"]
