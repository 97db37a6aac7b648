"""Jinja2 over templates/: each email is a pair, `<name>.txt.j2` and `<name>.html.j2`.

The text template's first line is `Subject: ...`. HTML goes through css-inline, because
Outlook ignores <style> blocks; StrictUndefined makes a missing value an error, not a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import css_inline
import jinja2

SUBJECT_PREFIX = "Subject:"


class TemplateProblem(Exception):
    """A template is missing, malformed, or asks for a value the caller did not give."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._inliner = css_inline.CSSInliner(keep_style_tags=False)

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        try:
            text = self._env.get_template(f"{name}.txt.j2").render(context)
            html = self._env.get_template(f"{name}.html.j2").render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateProblem(f"template {exc.name} not found in {self.templates_dir}") from exc
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(f"template {name}: {exc.message}") from exc
        first, _, body = text.partition("\n")
        if not first.startswith(SUBJECT_PREFIX):
            raise TemplateProblem(f"template {name}.txt.j2 must start with '{SUBJECT_PREFIX}'")
        subject = " ".join(first[len(SUBJECT_PREFIX) :].split())
        return Rendered(subject=subject, text=body.lstrip("\n"), html=self._inliner.inline(html))

    def render_text(self, name: str, context: dict[str, Any]) -> str:
        """A text-only template (for example an attachment's body)."""
        return self._env.get_template(name).render(context)
