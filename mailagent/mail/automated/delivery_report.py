"""A multipart/report (RFC 6522): a machine's report on one of our emails.

The report type says what it is: delivery-status (RFC 3464) a bounce when any recipient's
Action is "failed" (a report of delays or of delivery alone is a notice, bulk);
disposition-notification (RFC 8098) a read receipt; feedback-report (RFC 5965) a
complaint. A report of no known type is taken for a bounce, as most reports are.
"""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule
from mailagent.mail.automated.bounces import report_actions

_KINDS = {
    "disposition-notification": AutomatedKind.READ_RECEIPT,
    "feedback-report": AutomatedKind.FEEDBACK_REPORT,
}
_NOT_FAILED = {"delayed", "delivered", "relayed", "expanded"}


def check(mail: Mail) -> Hit | None:
    msg = mail.msg
    if not msg.is_multipart_report:
        return None
    report_type = msg.report_type or "missing"
    said = f"multipart/report; report-type={report_type}"
    if report_type in _KINDS:
        return Hit(_KINDS[report_type], said)
    if report_type in ("delivery-status", "global-delivery-status"):
        actions = report_actions(msg)
        if actions and actions <= _NOT_FAILED:
            return Hit(AutomatedKind.BULK, f"{said}, no recipient failed "
                                           f"(Action: {', '.join(sorted(actions))})")
    return Hit(AutomatedKind.BOUNCE, said)


RULE = Rule("delivery_report", "a multipart/report: delivery status, read receipt or "
            "complaint (RFC 6522, 3464, 8098, 5965)", check)
