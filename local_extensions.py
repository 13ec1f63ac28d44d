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


# Where the project is written while the pre-generation hook judges a slug that is no plain
# folder name: the hook refuses the slug, and cookiecutter removes this folder again.
REFUSED_FOLDER = "refused-project-slug"
MAX_FOLDER_BYTES = 200


def project_folder(slug: object) -> str:
    """The project folder's name: the slug, when it is a single plain file name. cookiecutter
    creates the folder before any hook runs, so a slug such as "a/b", "..", one with a NUL or
    longer than a file name would otherwise make folders elsewhere or fail with a traceback."""
    text = str(slug)
    plain = text not in ("", ".", "..") and not any(c in text for c in "/\\\x00")
    if plain and len(text.encode("utf-8", "surrogatepass")) <= MAX_FOLDER_BYTES:
        return text
    return REFUSED_FOLDER


# The name of the template's project folder, which cookiecutter renders on its own.
FOLDER_TEMPLATE = "{{cookiecutter.project_slug}}"


class TemplateFilters(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["toml_string"] = toml_string
        environment.filters["project_folder"] = project_folder

    def preprocess(self, source, name, filename=None):
        """The project folder's name goes through `project_folder`; every other template
        (file contents, the other paths, the answers) is left as it is."""
        if source == FOLDER_TEMPLATE:
            return "{{ cookiecutter.project_slug | project_folder }}"
        return source
