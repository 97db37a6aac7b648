"""The building blocks of every rules file: names, the problems found in a file, and reading
a TOML file into a typed model.

Role and template names are plain strings in the files; here they become `RoleRef` and
`TemplateRef`, so that `rules check` can find every one of them without a list of fields
to keep in step with the models.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the rules, pointing at the file and the key to fix."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.key, self.message) if part)


class RulesError(Exception):
    """The rules (or the directory) cannot be used; `problems` says why, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


M = TypeVar("M", bound=BaseModel)


_NAME = re.compile(r"[a-z][a-z0-9_]*")


_TEMPLATE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class RoleRef(str):
    """A role name ("team_manager"): the directory says who holds it."""


class TemplateRef(str):
    """A template name ("escalation"): `templates/<name>.txt.j2` and `<name>.html.j2`."""


def _role(value: str) -> RoleRef:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a role name: use lower-case letters, digits and _")
    return RoleRef(value)


def _template(value: str) -> TemplateRef:
    if not _TEMPLATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a template name: use letters, digits, _ . and -")
    return TemplateRef(value)


def _identifier(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an id: use lower-case letters, digits and _")
    return value


Role = Annotated[str, AfterValidator(_role)]


Template = Annotated[str, AfterValidator(_template)]


Identifier = Annotated[str, AfterValidator(_identifier)]


PlanType = Literal["LAC", "CP"]
# What a case reference prefix may look like: a capital letter, then capitals or digits, no
# hyphen, so the year and number always follow the first hyphen. `mail.references` reads
# exactly the prefixes the rules give, so a reference the rules can open can be matched.
REF_PREFIX_PATTERN = r"[A-Z][A-Z0-9]{1,9}"


def _ref_prefix(value: str) -> str:
    if not re.fullmatch(REF_PREFIX_PATTERN, value):
        raise ValueError(f"{value!r} is not a reference prefix: use 2 to 10 capital letters or "
                         "digits, starting with a letter (e.g. ESC)")
    return value


RefPrefix = Annotated[str, AfterValidator(_ref_prefix)]


class RulesModel(BaseModel):
    # validate_default turns default role and template names into RoleRef/TemplateRef too.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def read_model(path: Path, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Read one TOML file into `model`, or say what is wrong with it."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return None, [Problem(str(path), "", "file is missing")]
    except tomllib.TOMLDecodeError as e:
        return None, [Problem(str(path), "", f"not valid TOML: {e}")]
    try:
        return model.model_validate(data), []
    except ValidationError as e:
        return None, validation_problems(str(path), e)


def validation_problems(file: str, error: ValidationError) -> list[Problem]:
    """Pydantic's errors as "file: key: message" problems in words a council officer reads."""
    return [Problem(file, _key(e["loc"]), _message(e)) for e in error.errors()]


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for "the key of this dict entry"
            key += f".{part}" if key else part
    return key


def _message(error: ErrorDetails) -> str:
    ctx = error.get("ctx", {})
    match error["type"]:
        case "missing":
            return "required, but missing"
        case "extra_forbidden":
            return "unknown key"
        case "greater_than_equal":
            return f"must be >= {ctx['ge']}"
        case "too_short":
            return "must not be empty"
        case "literal_error":
            return f"must be {ctx['expected']}"
        case "value_error":
            return str(ctx["error"])
        case _:
            return error["msg"]
