"""`mailagent purge`, also run daily by the daemon: remove what `[retention]` says is due.

The work is `store.retention.purge`, in one transaction; what is logged is the counts, never
a reference or a name.
"""

from __future__ import annotations

import logging
from datetime import datetime

from mailagent.app import Agent
from mailagent.store.db import transaction
from mailagent.store.retention import PurgeReport
from mailagent.store.retention import purge as purge_store

log = logging.getLogger(__name__)


def purge(agent: Agent, now: datetime, *, dry_run: bool = False) -> PurgeReport:
    """Remove the raw mail and case records the retention settings say are due."""
    keep = agent.settings.retention
    with transaction(agent.engine) as session:
        report = purge_store(session, now, raw_mail_months=keep.raw_mail_months,
                             case_record_months=keep.case_record_months, dry_run=dry_run)
        if dry_run:
            session.rollback()
    log.info("purge%s: %s", " (dry run, nothing removed)" if dry_run else "", report)
    return report
