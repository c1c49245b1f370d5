"""``shipyard init``: write a new project from the templates under ``template/``.

Each ``*.tmpl`` file is rendered with :class:`string.Template` under the ``%%`` delimiter
(``%%{package}``), so the ``$`` of shell lines and CI expressions passes through untouched;
a ``__package__`` folder becomes the project's import name. Nothing is overwritten: the
target folder must be new or empty.
"""

from __future__ import annotations

import keyword
import re
import string
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from shipyard.errors import AlreadyExists, InvalidArgument

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_SUFFIX = ".tmpl"


class _Template(string.Template):
    delimiter = "%%"


@dataclass(frozen=True)
class ProjectNames:
    """The names a new project is rendered with.

    Attributes:
        name: The distribution, pipeline-prefix and CI name (``my-project``).
        package: The import name (``my_project``).
        title: The name in prose (``My Project``).
        model: The registered model the pipeline trains.
        dataset: The dataset the pipeline trains on.
    """

    name: str
    package: str
    title: str
    model: str
    dataset: str

    @classmethod
    def of(cls, name: str) -> ProjectNames:
        """The names of project ``name`` (lowercase words joined by hyphens).

        Raises:
            InvalidArgument: Any other name, or one whose import name is a Python keyword.
        """
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > 64:
            raise InvalidArgument(
                f"project name {name!r}: use lowercase letters, digits and single hyphens, "
                "starting with a letter (at most 64 characters), e.g. 'churn-model'",
                field="name",
            )
        package = name.replace("-", "_")
        if keyword.iskeyword(package):
            raise InvalidArgument(f"project name {name!r} is a Python keyword", field="name")
        title = " ".join(word.capitalize() for word in name.split("-"))
        return cls(name, package, title, model=name, dataset=f"{name}-training")


def init_project(target: str | Path, name: str | None = None) -> list[Path]:
    """Write a new project into ``target`` (a new or empty folder).

    Args:
        target: The folder; its name is the project's name unless ``name`` is given.
        name: The project name (lowercase words joined by hyphens).

    Returns:
        The files written, relative to ``target``, sorted.

    Raises:
        InvalidArgument: A bad project name.
        AlreadyExists: ``target`` exists and is not an empty folder.
    """
    import shipyard

    folder = Path(target)
    names = ProjectNames.of(name if name is not None else folder.resolve().name)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise AlreadyExists(
            f"{folder} exists and is not empty; `shipyard init` writes only into a new or "
            "empty folder",
            field="target",
        )
    values = {
        "name": names.name,
        "package": names.package,
        "title": names.title,
        "model": names.model,
        "dataset": names.dataset,
        "shipyard_version": shipyard.__version__,
    }
    written = []
    for source, relative in _templates(resources.files("shipyard.project") / "template", ""):
        path = folder / relative.replace("__package__", names.package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_Template(source.read_text()).substitute(values))
        written.append(path.relative_to(folder))
    return sorted(written)


def _templates(root: Traversable, prefix: str) -> list[tuple[Traversable, str]]:
    """Every template file under ``root`` with its output path (``.tmpl`` dropped)."""
    found = []
    for item in root.iterdir():
        relative = f"{prefix}{item.name}"
        if item.is_dir():
            if item.name != "__pycache__":
                found.extend(_templates(item, relative + "/"))
        elif item.name.endswith(_SUFFIX):
            found.append((item, relative[: -len(_SUFFIX)]))
    return found
