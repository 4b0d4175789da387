"""A quick proof that passes 2 and 3 of structure validation would find nothing, so neither has to run.

Pass 3 (``structure.model_issues``) runs ``model_validate`` of fhir.resources on every write. That library builds a
pydantic model per element through Python-level hooks (a wrap validator, a custom ``__init__``, a before and an
after validator per element), which made it the largest cost of validating a screening submission's dozen
Observations; pass 2 (``structure.datatype_issues``) walks the same elements again. Most writes are valid, and for
them the checks of both passes can be made in one walk directly on the JSON:

* every key is the JSON name of an element of the model (unknown elements are ``extra="forbid"``);
* elements with ``default=...`` are present, and so are the primitives the model lists in ``get_required_fields``;
* each choice group (``get_one_of_many_fields``) has at most one member, exactly one when it is required;
* primitive values have the strict JSON type of pass 2 and pass the very validator pydantic builds for that field
  (a ``TypeAdapter`` of the field's own annotation under the model's config: same patterns, date parsing, lengths);
* complex values are objects checked the same way against their own model, recursively; extensions hold ext-1.

``accepts`` answers True only when all of that holds. Anything it does not model — ``_element`` primitive
extensions, ``fhir_comments``, contained resources, nulls, empty arrays, a model class with validators other than
fhir.resources' own two, an unknown annotation — answers False, and the caller runs passes 2 and 3 as before, so
every issue is still found and reported by them, with its FHIRPath. The property tests in
``tests/fhir_validation/test_fast_paths.py`` pin the direction that matters: ``accepts`` ⇒ pass 2 finds nothing and
``model_validate`` passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import BaseModel, TypeAdapter

from .fields import MAX_DEPTH, ext_1_holds, field_shape, is_unicode_text, json_type_ok

# What every fhir.resources model inherits from FHIRAbstractModel; a class that overrides any of these, or adds
# validators of its own, has rules this module does not know, so it is never answered quickly.
_BASE_VALIDATORS = frozenset({"reject_null_complex_elements", "validate_after_model_construction"})
_BASE_METHODS = (
    "__init__",
    "reject_null_complex_elements",
    "validate_after_model_construction",
    "_validate_one_of_many",
    "_validate_required_primitive_elements",
)


@dataclass(frozen=True)
class _Element:
    kind: str  # FieldShape.kind: "complex" or a primitive kind ("bool", "int", "decimal", "string")
    is_list: bool
    model: type[BaseModel] | None  # a complex datatype or backbone element
    validate: Callable[[Any], Any] | None  # a primitive: the field's own pydantic validator (raises if invalid)
    group: int | None  # the choice group (index into the model's ``get_one_of_many_fields``) it belongs to


@dataclass(frozen=True)
class _Plan:
    resource_type: str
    is_extension: bool  # pass 2 checks ext-1 on every object of a model named Extension
    elements: dict[str, _Element]  # JSON name -> how its value is checked
    required: tuple[str, ...]
    required_groups: tuple[int, ...]  # choice groups of which one member must be present


def accepts(model: type[BaseModel], resource: dict[str, Any]) -> bool:
    """True only if passes 1 and 2 find nothing and ``model.model_validate(resource)`` succeeds; False when not
    sure. Safe on any input (hostile nesting answers False long before Python's stack is at risk)."""
    return _object_accepted(model, resource, 0, is_resource=True)


def _object_accepted(model: type[BaseModel], obj: dict[str, Any], depth: int, *, is_resource: bool) -> bool:
    """``obj`` sits at ``depth`` (pass 1 counts an object member one level down, an array item two)."""
    plan = _plan(model)
    if plan is None or not obj or depth + 2 > MAX_DEPTH:  # its members could pass the nesting limit: not sure
        return False
    elements = plan.elements
    groups: set[int] = set()  # choice groups seen: a second member of one is an error (one_of_many)
    for key, value in obj.items():
        if is_resource and key == "resourceType":
            if value != plan.resource_type:
                return False
            continue
        element = elements.get(key)
        if element is None or value is None:
            return False
        if element.group is not None:
            if element.group in groups:
                return False
            groups.add(element.group)
        if element.model is None:
            if not _primitive_accepted(element, value):
                return False
        elif element.is_list:
            if type(value) is not list or not value:
                return False
            for item in value:
                if type(item) is not dict or not _object_accepted(element.model, item, depth + 2, is_resource=False):
                    return False
        elif type(value) is not dict or not _object_accepted(element.model, value, depth + 1, is_resource=False):
            return False
    if plan.is_extension and not ext_1_holds(obj):  # after the loop: every key is known to be an element name
        return False
    for name in plan.required:
        if name not in obj:
            return False
    return all(group in groups for group in plan.required_groups)


def _primitive_accepted(element: _Element, value: object) -> bool:
    kind = element.kind
    if element.is_list:
        if type(value) is not list or not value or not all(_clean_leaf(kind, item) for item in value):
            return False
    elif not _clean_leaf(kind, value):
        return False
    assert element.validate is not None
    try:
        element.validate(value)
    except Exception:  # a ValidationError, or whatever a primitive's own validator raises: pydantic will say
        return False
    return True


def _clean_leaf(kind: str, value: object) -> bool:
    """The strict JSON type of pass 2, and pass 1's rules for leaves: no empty or non-Unicode string, no NaN."""
    if not json_type_ok(kind, value):
        return False
    if type(value) is str:
        return value != "" and is_unicode_text(value)
    return type(value) is not float or math.isfinite(value)


@cache
def _plan(model: type[BaseModel]) -> _Plan | None:
    """How to check one model class (built once per class), or None when it has rules this module does not know."""
    if not _only_base_rules(model):
        return None
    try:
        instance = model.model_construct()
    except Exception:  # a model that cannot even be built empty is left to pydantic
        return None
    group_of: dict[str, int] = {}
    required_groups = []
    for group, names in enumerate(instance.get_one_of_many_fields().values()):  # type: ignore[attr-defined]
        group_of.update((model.model_fields[n].alias or n, group) for n in names)
        extra = model.model_fields[names[0]].json_schema_extra
        if isinstance(extra, dict) and extra.get("one_of_many_required") is True:
            required_groups.append(group)
    elements: dict[str, _Element] = {}
    required: list[str] = []
    for name, info in model.model_fields.items():
        json_name = info.alias or name
        if name == "fhir_comments" or json_name.startswith("_"):
            continue  # present in a body: not answered quickly
        spec = field_shape(info.annotation)
        group = group_of.get(json_name)
        if spec.kind == "complex":
            element = _Element(spec.kind, spec.is_list, spec.model, None, group)
        elif spec.kind in ("bool", "int", "decimal", "string"):
            adapter = TypeAdapter(info.rebuild_annotation(), config=model.model_config)
            element = _Element(spec.kind, spec.is_list, None, adapter.validate_python, group)
        else:
            continue  # contained resources, unknown annotations: not answered quickly
        elements[json_name] = element
        if info.is_required():
            required.append(json_name)
    required.extend(json_name for json_name, _ext in instance.get_required_fields())  # type: ignore[attr-defined]
    resource_type = str(model.__resource_type__)  # type: ignore[attr-defined]
    is_extension = model.__name__ == "Extension"
    return _Plan(resource_type, is_extension, elements, tuple(required), tuple(required_groups))


def _only_base_rules(model: type[BaseModel]) -> bool:
    if not issubclass(model, FHIRAbstractModel):
        return False
    decorators = model.__pydantic_decorators__
    if decorators.validators or decorators.field_validators or decorators.root_validators:
        return False
    if set(decorators.model_validators) != _BASE_VALIDATORS:
        return False
    return all(_same_method(model, name) for name in _BASE_METHODS)


def _same_method(model: type[BaseModel], name: str) -> bool:
    """Whether ``model.<name>`` is FHIRAbstractModel's own (no subclass on the way overrides it)."""
    owner = next((klass for klass in model.__mro__ if name in klass.__dict__), None)
    return owner is FHIRAbstractModel
