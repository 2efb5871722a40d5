"""`hacore-agent new NAME`: a pip-installable agent package that passes the harness as made."""

from __future__ import annotations

import keyword
import os
import re
from pathlib import Path
from string import Template

from hacore.errors import InputError

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
TEMPLATES = Path(__file__).with_name("templates")


def module_name(agent_name: str) -> str:
    return "hacore_agent_" + agent_name.replace("-", "_")


def scaffold(agent_name: str, parent: Path) -> Path:
    """Write a new agent package ``hacore-agent-NAME`` under ``parent`` and return its path.

    Refuses an invalid name or an existing directory (nothing is overwritten).
    """
    if not NAME_RE.match(agent_name) or keyword.iskeyword(agent_name):
        raise InputError(f"agent name {agent_name!r} is not valid: lower-case letters, digits and "
                         "'-', starting with a letter, at most 41 characters (e.g. my-daemon)")
    target = parent / f"hacore-agent-{agent_name}"
    if target.exists():
        raise InputError(f"{target} already exists: choose another name or remove it first")
    module = module_name(agent_name)
    values = {
        "name": agent_name,
        "module": module,
        "class_name": "".join(part.title() for part in re.split(r"[-_]", agent_name)) + "Agent",
        "distribution": f"hacore-agent-{agent_name}",
    }
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        f"{module}/__init__.py": "agent.py.tmpl",
        "tests/test_agent.py": "test_agent.py.tmpl",
        "README.md": "README.md.tmpl",
    }
    staging = parent / f".hacore-agent-{agent_name}.partial-{os.getpid()}"
    try:
        for relative, template in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            text = Template((TEMPLATES / template).read_text()).substitute(values)
            path.write_text(text)
        staging.rename(target)
    finally:
        if staging.exists():
            _remove_tree(staging)
    return target


def _remove_tree(path: Path) -> None:
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()
