"""Jinja filters of this template (cookiecutter loads them through `_extensions` in
cookiecutter.json; the template's folder is on the import path while it renders)."""

from __future__ import annotations

from jinja2.ext import Extension

# TOML basic strings must escape the quote, the backslash and every control character but tab.
_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: object) -> str:
    """`value` as a TOML basic string that reads back exactly. Unlike `tojson`, characters
    outside the Basic Multilingual Plane stay themselves: JSON's surrogate pairs ("\\ud83d...")
    are no TOML escape, and pyproject.toml would not parse."""
    out = []
    for char in str(value):
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


class TomlStringExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["toml_string"] = toml_string
