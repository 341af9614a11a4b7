"""The configuration table of the README, built from the settings' own descriptions.

``python -m api.settings_doc`` prints it; a unit test keeps README.md in step.
"""

from __future__ import annotations

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from api.settings import ApiSettings
from dispatch.settings import (
    ClockSettings,
    DatabaseSettings,
    DispatchSettings,
)
from telemetry.settings import TelemetrySettings

SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (
    DatabaseSettings,
    ClockSettings,
    DispatchSettings,
    TelemetrySettings,
    ApiSettings,
)


def _env_name(cls: type[BaseSettings], name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    if isinstance(alias, str):
        return alias
    prefix = str(cls.model_config.get("env_prefix", ""))
    return (prefix + name).upper()


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined:
        return "(empty)" if field.default_factory is not None else "(required)"
    if "Secret" in type(field.default).__name__:
        return "(hidden)"  # a secret's default is never printed
    if field.default is None:
        return "(unset)"
    return f"`{field.default}`"


def settings_table() -> str:
    """Markdown table: variable, default, description, for every setting."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for cls in SETTINGS_CLASSES:
        for name, field in cls.model_fields.items():
            text = (field.description or "").replace("|", "\\|")
            lines.append(
                f"| `{_env_name(cls, name, field)}` | {_default(field)} | {text} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(settings_table(), end="")  # noqa: T201
