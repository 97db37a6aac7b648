"""Where the files shipped with mailagent are: the rules, the email templates and the example
config that a council starts from (`mailagent init`) and the embedded default runs on.

They live once, in the repository's top-level `rules/`, `templates/` and
`config.example.toml`. A wheel carries copies inside the package (`mailagent/_shipped/`,
pyproject's force-include); a checkout or an editable install has only the top-level ones.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_shipped"  # an installed wheel
_CHECKOUT = _PACKAGE.parent  # a source tree or an editable install


def _home() -> Path:
    for folder in (_INSTALLED, _CHECKOUT):
        if (folder / "rules").is_dir() and (folder / "templates").is_dir():
            return folder
    raise FileNotFoundError(
        f"mailagent's shipped rules and templates are missing (looked in {_INSTALLED} and "
        f"{_CHECKOUT}); reinstall mailagent"
    )


def rules_dir() -> Path:
    """The shipped rules: ladders, tags, categories, fields, commands, example directory."""
    return _home() / "rules"


def templates_dir() -> Path:
    """The shipped email and report templates."""
    return _home() / "templates"


def example_config() -> Path:
    """The documented example config (every key, with its default or an example value)."""
    return _home() / "config.example.toml"
