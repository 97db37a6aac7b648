"""Jinja2 for the report files (templates/reports/), apart from the email templates.

A council's own templates folder is searched first, then the templates shipped with
mailagent, so a council may restyle a report without copying the others. Values are
escaped in `.html.j2` templates and a missing value is an error (StrictUndefined).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from mailagent import shipped

SHIPPED = shipped.templates_dir()


@cache
def _environment(templates_dir: Path) -> jinja2.Environment:
    folders = [templates_dir / "reports", SHIPPED / "reports"]
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in dict.fromkeys(folders)]),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(template: str, context: dict[str, Any], templates_dir: Path = SHIPPED) -> str:
    """Render `templates/reports/<template>` (e.g. "quarterly.html.j2") with `context`."""
    return _environment(templates_dir.resolve()).get_template(template).render(context)
