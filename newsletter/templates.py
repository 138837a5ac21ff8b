"""Jinja2 environment: the project's templates/ first, package defaults second.

A project template may extend a default one with the ``default/`` prefix:
``{% extends "default/digest.html" %}``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=8)
def environment(project_templates: Path | None) -> Environment:
    """The template environment for a project (cached per folder)."""
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape

    default = FileSystemLoader(str(PACKAGE_TEMPLATES))
    loaders = []
    if project_templates is not None and project_templates.is_dir():
        loaders.append(FileSystemLoader(str(project_templates)))
    loaders += [PrefixLoader({"default": default}), default]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def template_files(project_templates: Path | None) -> list[Path]:
    """Every template file that can affect output (for cache keys and watching)."""
    files = sorted(p for p in PACKAGE_TEMPLATES.rglob("*") if p.is_file())
    if project_templates is not None and project_templates.is_dir():
        files += sorted(p for p in project_templates.rglob("*") if p.is_file())
    return files
