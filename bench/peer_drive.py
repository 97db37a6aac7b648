"""Run by django-helpdesk's own interpreter (var/peer/venv), never by mailagent's: a throwaway
Django site (settings in code, SQLite under var/) with one queue that reads an IMAP folder
with django-helpdesk's own mail fetcher (`helpdesk.email.process_email`, what its
`get_email` command runs), and acknowledges each new ticket to its submitter and to the
queue's copy address by SMTP.

    python bench/peer_drive.py '{"db": ..., "imap_host": ..., "imap_port": ..., "user": ...,
                                 "password": ..., "smtp_port": ..., "notify": ..., "out": ...}'

Writes {"seconds": ..., "tickets": ..., "followups": ...} to "out". Standard library and
Django only: this file must not import mailagent.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def configure(cfg: dict) -> None:
    import types

    import django
    from django.conf import settings

    # Its emails link to the ticket, so the site needs its URLs (under a module of our own).
    urls = types.ModuleType("peer_urls")
    sys.modules["peer_urls"] = urls
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-secret",
        ALLOWED_HOSTS=["localhost"],
        SITE_ID=1,
        USE_TZ=True,
        TIME_ZONE="Europe/London",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": cfg["db"]}},
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "django.contrib.sites",
            "django.contrib.humanize", "rest_framework", "helpdesk",
        ],
        MIDDLEWARE=[],
        ROOT_URLCONF="peer_urls",
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True, "OPTIONS": {"context_processors": []}}],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=cfg["smtp_port"],
        DEFAULT_FROM_EMAIL="helpdesk@example.test",
        SERVER_EMAIL="helpdesk@example.test",
        LOGGING_CONFIG=None,
        HELPDESK_ALWAYS_SAVE_INCOMING_EMAIL_MESSAGE=False,
        HELPDESK_TEAMS_MODE_ENABLED=False,  # teams need pinax-teams, which it does not install
        MEDIA_ROOT=str(Path(cfg["db"]).parent / "media"),
    )
    django.setup()
    from django.urls import include, path

    urls.urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]  # type: ignore[attr-defined]


def main(cfg: dict) -> None:
    configure(cfg)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from helpdesk.email import process_email
    from helpdesk.models import FollowUp, Queue, Ticket

    Queue.objects.create(
        title="IRO escalations", slug="iro", email_address="helpdesk@example.test",
        allow_email_submission=True, email_box_type="imap", email_box_host=cfg["imap_host"],
        email_box_port=cfg["imap_port"], email_box_ssl=False, email_box_user=cfg["user"],
        email_box_pass=cfg["password"], email_box_imap_folder="INBOX", email_box_interval=0,
        new_ticket_cc=cfg["notify"], logging_type="none",
    )
    start = time.perf_counter()
    process_email(quiet=True)
    seconds = time.perf_counter() - start
    status = Path("/proc/self/status").read_text()
    Path(cfg["out"]).write_text(json.dumps({
        "seconds": seconds, "tickets": Ticket.objects.count(),
        "followups": FollowUp.objects.count(),
        "peak_mib": int(status.split("VmHWM:")[1].split()[0]) / 1024}))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
