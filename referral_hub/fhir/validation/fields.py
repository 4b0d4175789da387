"""JSON rules shared by the structure passes and the quick check: the JSON shape of fhir.resources model fields
(read from their annotations), strict JSON types, ext-1, the nesting limit and the Unicode rule.

Shared by ``structure`` (passes 1 and 2) and ``model_check`` (which proves in one walk that they find nothing).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

# Deepest JSON nesting accepted. Real resources stay far below (a Questionnaire with ten levels of nested
# items is ~25); pydantic's recursive validators overflow Python's stack somewhere above 500.
MAX_DEPTH = 100


@dataclass(frozen=True)
class FieldShape:
    """The JSON a model field takes: its kind, whether it repeats, and the model of a complex datatype."""

    kind: str  # "bool" | "int" | "decimal" | "string" | "complex" | "resource" | "any"
    is_list: bool
    model: type[BaseModel] | None = None  # for "complex"
    nullable_items: bool = False


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        return annotation
    return annotation


def field_shape(annotation: Any) -> FieldShape:
    """The JSON shape of a fhir.resources field annotation (``Optional``, ``List`` and ``Annotated`` unwrapped)."""
    ann = _unwrap_optional(annotation)
    is_list = False
    nullable_items = False
    if typing.get_origin(ann) in (list, typing.List):  # noqa: UP006 - typing.List is what fhir.resources uses
        is_list = True
        inner = typing.get_args(ann)[0]
        unwrapped = _unwrap_optional(inner)
        nullable_items = unwrapped is not inner
        ann = unwrapped
    base = ann
    if typing.get_origin(ann) is typing.Annotated:
        base = typing.get_args(ann)[0]
    if base is bool:
        return FieldShape("bool", is_list, nullable_items=nullable_items)
    if base is int:
        return FieldShape("int", is_list, nullable_items=nullable_items)
    if getattr(base, "__name__", "") == "Decimal":
        return FieldShape("decimal", is_list, nullable_items=nullable_items)
    getter = getattr(base, "get_model_klass", None)
    if getter is not None:
        model = getter()
        if model.__name__ == "Resource":
            return FieldShape("resource", is_list, nullable_items=nullable_items)
        return FieldShape("complex", is_list, model, nullable_items)
    if isinstance(base, type) and issubclass(base, BaseModel):
        return FieldShape("complex", is_list, base, nullable_items)
    if typing.get_origin(base) is typing.Union:  # e.g. Url = AnyUrl | str: a JSON string in FHIR
        return FieldShape("string", is_list, nullable_items=nullable_items)
    if base in (str,) or getattr(base, "__module__", "") in ("datetime", "uuid"):
        return FieldShape("string", is_list, nullable_items=nullable_items)
    if base is bytes:
        return FieldShape("string", is_list, nullable_items=nullable_items)
    return FieldShape("any", is_list, nullable_items=nullable_items)


def json_type_ok(kind: str, value: object) -> bool:
    """Whether a primitive has the JSON type its kind needs (strict: ``"5"`` is no integer, ``1`` no boolean)."""
    if kind == "bool":
        return type(value) is bool
    if kind == "int":
        return type(value) is int
    if kind == "decimal":
        return type(value) in (int, float)
    if kind == "string":
        return type(value) is str
    return True


def ext_1_holds(extension: dict[str, Any]) -> bool:
    """ext-1: an extension has nested extensions or a value[x], but not both and not neither."""
    has_value = any(k.startswith("value") for k in extension)
    has_nested = bool(extension.get("extension"))
    return has_value != has_nested


def is_unicode_text(value: str) -> bool:
    """False for strings holding lone surrogates (``json.loads`` accepts ``"\\ud800"``; UTF-8 cannot)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
