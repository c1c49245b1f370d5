"""Row classes that declare SQLAlchemy Core tables: the ORM's declarative syntax
(``name: Mapped[str] = mapped_column(String(64))``) without the ORM.

The store queries its tables with Core only; nothing loads or saves mapped objects. The
ORM's declarative base still built a mapper for every row class and imported
``sqlalchemy.orm``: about a fifth of the start-up of a command that reads the store (`shipyard
runs list`). A subclass of :class:`TableBase` becomes one :class:`~sqlalchemy.Table` in the
base's ``metadata`` and nothing else, with the columns the ORM would have made of the same
class body:

- a column's name is its attribute's; its arguments are those of ``mapped_column``;
- it is nullable when its annotation allows ``None`` (``Mapped[int | None]``) or when
  ``nullable=`` says so, and NOT NULL otherwise (Core's own default is the opposite);
- its type is given, or copied from the column a ``ForeignKey`` refers to; a column with
  neither is refused (the ORM would derive one from the annotation: write it out);
- ``__table_args__`` is a tuple of constraints and indexes, optionally ending with a dict of
  table options, or that dict alone.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import Column, MetaData, Table

T = TypeVar("T")


class Mapped(Generic[T]):
    """The annotation of a column attribute: ``Mapped[str]``, ``Mapped[int | None]``."""


class _ColumnSpec:
    """What ``mapped_column(...)`` was given, turned into a Column by the class."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs

    def column(self, name: str, annotation: str) -> Column[Any]:
        """The column ``name``; ``annotation`` is its ``Mapped[...]`` annotation's text."""
        if not self.args:
            raise TypeError(f"column {name!r} needs a type (or a ForeignKey to copy it from)")
        kwargs = dict(self.kwargs)
        if "nullable" not in kwargs and not kwargs.get("primary_key"):
            kwargs["nullable"] = _admits_none(annotation)
        return Column(name, *self.args, **kwargs)


_MAPPED = re.compile(r".*Mapped\[(.*)\]\s*")


def _admits_none(annotation: str) -> bool:
    """Whether the annotation ``Mapped[X | None]`` (or ``Mapped[Optional[X]]``) admits
    None."""
    match = _MAPPED.fullmatch(annotation)
    if match is None:
        raise TypeError(f"a column's annotation is Mapped[...], not {annotation!r}")
    inner = match[1].strip()
    return inner.startswith("Optional[") or "None" in (p.strip() for p in inner.split("|"))


if TYPE_CHECKING:

    def mapped_column(*args: Any, **kwargs: Any) -> Any:
        """A column of a :class:`TableBase` row class (``Column``'s arguments)."""

else:

    def mapped_column(*args: Any, **kwargs: Any) -> _ColumnSpec:
        """A column of a :class:`TableBase` row class (``Column``'s arguments)."""
        return _ColumnSpec(args, kwargs)


class TableBase:
    """Base of row classes; a subclass sets ``metadata`` (once, on its own base) and each
    row class ``__tablename__``, its columns and optionally ``__table_args__``."""

    metadata: ClassVar[MetaData]
    __tablename__: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__tablename__" not in cls.__dict__:
            return  # a base that holds the metadata
        annotations = inspect.get_annotations(cls)
        columns = [
            spec.column(name, str(annotations.get(name, "")))
            for name, spec in cls.__dict__.items()
            if isinstance(spec, _ColumnSpec)
        ]
        args: Any = cls.__dict__.get("__table_args__", ())
        options: dict[str, Any] = {}
        if isinstance(args, dict):
            args, options = (), args
        elif args and isinstance(args[-1], dict):
            args, options = args[:-1], args[-1]
        Table(cls.__tablename__, cls.metadata, *columns, *args, **options)
