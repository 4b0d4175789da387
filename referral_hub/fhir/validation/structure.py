"""Stage 1 (HTTP 400): is the body a well-formed FHIR R4 resource in JSON?

Three passes, cheapest first:

1. ``json_shape_issues`` — plain JSON hygiene that fhir.resources either crashes on or lets through: keys must
   be strings, values JSON types (no NaN, bytes, sets ...), nesting bounded (pydantic recurses and would hit
   Python's recursion limit), no empty objects/arrays/strings (ele-1; FHIR JSON §2.6.2) and ``null`` only as an
   array placeholder aligned with a ``_element`` array.
2. ``datatype_issues`` — a strict walk against the fhir.resources model metadata. pydantic runs in lax mode,
   so without this ``"valueBoolean": "true"``, ``"valueInteger": "5"``, ``"effectiveDateTime": 20200101``
   and even a JSON *string* holding an object where a CodeableConcept belongs are all accepted. Also
   enforces ext-1 (an extension has a value or nested extensions, not both).
3. ``model_issues`` — ``get_fhir_model_class(rt).model_validate`` (FHIR R4B models, the closest release
   fhir.resources ships to R4 4.0.1) for cardinality, formats, choice types and unknown elements; every
   pydantic error becomes an Issue with a FHIRPath built from the error location.

Passes 2 and 3 often see the same mistake; only the first (clearer) report per element is kept.

Speed (every write runs this): the passes run only when ``model_check.accepts`` cannot prove in one walk over
the JSON that all three would find nothing — so the pydantic models are built only for bodies that may be
invalid, and every issue still comes from the passes themselves. Pass 1 then runs a path-free walk first and
builds FHIRPaths only when something is off.
"""

from __future__ import annotations

import math
import re
from functools import cache, lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .fields import MAX_DEPTH, FieldShape, ext_1_holds, field_shape, is_unicode_text, json_type_ok
from .issues import Issue, error
from .model_check import accepts

SUPPORTED_RESOURCE_TYPES: frozenset[str] = frozenset(
    {
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "HealthcareService",
        "CareTeam",
        "RelatedPerson",
        "Device",
        "Group",
        "Consent",
        "Condition",
        "Goal",
        "Observation",
        "Questionnaire",
        "QuestionnaireResponse",
        "ServiceRequest",
        "Task",
        "Procedure",
        "DocumentReference",
        "Communication",
        "Provenance",
    }
)

# FHIR `id` datatype (R4 §2.24.0.1); fhir.resources checks the characters but not the length.
ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# Issues reported per pass before giving up: garbage input must not yield a megabyte OperationOutcome.
MAX_ISSUES = 50

Path = tuple[str | int, ...]


def fhirpath(resource_type: str, path: Path) -> str:
    """``("input", 0, "type")`` → ``Task.input[0].type``; ``_status`` (primitive extension) → ``status``."""
    out = [resource_type]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            name = part[1:] if part.startswith("_") and len(part) > 1 else part
            out.append(f".{name}")
    return "".join(out)


def resource_type_issues(resource: object) -> tuple[str | None, list[Issue]]:
    """The body must be a JSON object naming a supported ``resourceType``."""
    if not isinstance(resource, dict):
        kind = _json_kind(resource)
        return None, [
            Issue("fatal", "structure", "Resource", f"The body must be a JSON object (a FHIR resource), not {kind}.")
        ]
    rt = resource.get("resourceType")
    if rt is None:
        return None, [Issue("fatal", "required", "Resource.resourceType", "The resource has no resourceType.")]
    if not isinstance(rt, str):
        return None, [
            Issue("fatal", "structure", "Resource.resourceType", "resourceType must be a string naming a resource.")
        ]
    if rt not in SUPPORTED_RESOURCE_TYPES:
        shown = rt if len(rt) <= 64 else rt[:64] + "…"
        return None, [
            Issue(
                "fatal",
                "not-supported",
                "Resource.resourceType",
                f"Resource type '{shown}' is not supported by this server.",
            )
        ]
    return rt, []


def id_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    """Resource ids follow the FHIR ``id`` datatype: ``[A-Za-z0-9\\-\\.]{1,64}``."""
    rid = resource.get("id")
    if rid is None or not isinstance(rid, str):
        return []  # absent is fine here (the store assigns one); a wrong JSON type is reported by pass 2
    if ID_RE.fullmatch(rid):
        return []
    return [
        error(
            "value",
            f"{resource_type}.id",
            "The id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'.",
        )
    ]


# --- pass 1: JSON shape ----------------------------------------------------------------------------------


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a non-JSON value ({type(value).__name__})"


def _shape_is_clean(resource: dict[str, Any]) -> bool:
    """True only when ``json_shape_issues`` would certainly find nothing: the walk every write takes.

    No paths are built, and anything unusual (a null array item, a key or value of a type other than the plain
    JSON ones, a lone surrogate) answers False, so the full walk runs and reports it. Depths count as in
    ``json_shape_issues``: an object's member is one level deeper, an array item two.
    """
    stack: list[tuple[dict[str, Any], int]] = [(resource, 0)]
    while stack:
        obj, depth = stack.pop()
        if not obj:
            return False
        for key, child in obj.items():
            if type(key) is not str or not key or not (key.isascii() or is_unicode_text(key)):
                return False
            if type(child) is list:
                if not child or depth + 2 > MAX_DEPTH:
                    return False
                for item in child:
                    if not _leaf_or_push(item, depth + 2, stack):
                        return False
            elif depth + 1 > MAX_DEPTH or not _leaf_or_push(child, depth + 1, stack):
                return False
    return True


def _leaf_or_push(value: object, depth: int, stack: list[tuple[dict[str, Any], int]]) -> bool:
    """Queue an object; True for a clean JSON leaf; False for anything the full walk must look at."""
    kind = type(value)
    if kind is dict:
        stack.append((value, depth))  # type: ignore[arg-type]
        return True
    if kind is str:
        return value != "" and (value.isascii() or is_unicode_text(value))  # type: ignore[union-attr]
    if kind is bool or kind is int:
        return True
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    return False  # null, a nested array, a subclass or a non-JSON value


def json_shape_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    """Pass 1 (see the module docstring), with each issue's FHIRPath, in document order."""
    if _shape_is_clean(resource):
        return []
    return _shape_walk(resource_type, resource)


def _shape_walk(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    """The full pass-1 walk, building the path of every node (run when the quick check is not sure)."""
    issues: list[Issue] = []
    # Iterative walk: (value, path, depth). A recursive one would itself overflow on hostile nesting.
    stack: list[tuple[object, Path, int]] = [(resource, (), 0)]
    while stack and len(issues) < MAX_ISSUES:
        value, path, depth = stack.pop()
        children: list[tuple[object, Path, int]] = []
        if depth > MAX_DEPTH:
            issues.append(
                error(
                    "structure", fhirpath(resource_type, path), f"The JSON is nested more than {MAX_DEPTH} levels deep."
                )
            )
            continue
        if isinstance(value, dict):
            if not value:
                issues.append(
                    error(
                        "structure",
                        fhirpath(resource_type, path),
                        "Empty objects are not allowed in FHIR JSON (ele-1).",
                    )
                )
            for key, child in value.items():
                if not isinstance(key, str):
                    issues.append(
                        error("structure", fhirpath(resource_type, path), "Every property name must be a string.")
                    )
                    continue
                if key == "" or not is_unicode_text(key):
                    issues.append(
                        error(
                            "structure", fhirpath(resource_type, path), "Property names must be non-empty Unicode text."
                        )
                    )
                    continue
                child_path = (*path, key)
                if child is None:
                    issues.append(
                        error(
                            "structure",
                            fhirpath(resource_type, child_path),
                            "null is not allowed as a property value; leave the element out instead.",
                        )
                    )
                elif isinstance(child, list):
                    twin = key[1:] if key.startswith("_") else "_" + key
                    nulls_aligned = isinstance(value.get(twin), list)
                    if not child:
                        issues.append(
                            error(
                                "structure",
                                fhirpath(resource_type, child_path),
                                "Empty arrays are not allowed in FHIR JSON; leave the element out instead.",
                            )
                        )
                    for i, item in enumerate(child):
                        if item is None:
                            if not nulls_aligned:
                                issues.append(
                                    error(
                                        "structure",
                                        fhirpath(resource_type, (*child_path, i)),
                                        "null is only allowed in an array aligned with its '_' extension array.",
                                    )
                                )
                        else:
                            children.append((item, (*child_path, i), depth + 2))
                else:
                    children.append((child, child_path, depth + 1))
        elif isinstance(value, str):
            if value == "":
                issues.append(
                    error(
                        "value",
                        fhirpath(resource_type, path),
                        "Empty strings are not allowed; leave the element out instead.",
                    )
                )
            elif not is_unicode_text(value):
                issues.append(
                    error("value", fhirpath(resource_type, path), "The string is not valid Unicode (lone surrogate).")
                )
        elif isinstance(value, bool | int):
            pass
        elif isinstance(value, float):
            if not math.isfinite(value):
                issues.append(
                    error("value", fhirpath(resource_type, path), "Numbers must be finite (no NaN or Infinity).")
                )
        elif isinstance(value, list):
            # only reachable for arrays nested directly in arrays, which FHIR JSON never has
            issues.append(
                error("structure", fhirpath(resource_type, path), "Arrays of arrays are not allowed in FHIR JSON.")
            )
        else:
            issues.append(
                error(
                    "structure", fhirpath(resource_type, path), f"The value is {_json_kind(value)}, which is not JSON."
                )
            )
        stack.extend(reversed(children))  # reversed: issues come out in document order
    return issues


# --- pass 2: datatypes against the model metadata --------------------------------------------------------


@cache
def _fields_of(model: type[BaseModel]) -> dict[str, FieldShape]:
    """JSON property name → expected JSON shape, for one fhir.resources model (cached: built once per class)."""
    fields: dict[str, FieldShape] = {}
    for name, info in model.model_fields.items():
        if name == "fhir_comments":
            continue
        fields[info.alias or name] = field_shape(info.annotation)
    return fields


@lru_cache(maxsize=512)  # bounded: the names come from client input (contained resources)
def model_class(resource_type: str) -> type[BaseModel] | None:
    """The fhir.resources R4B model for a type name, or None if there is no such FHIR type (cached)."""
    if not resource_type.isalnum() or not resource_type[:1].isupper() or len(resource_type) > 64:
        return None
    try:
        return get_fhir_model_class(resource_type)
    except Exception:  # fhir.resources raises KeyError/ValueError/ImportError depending on the name
        return None


_KIND_WORDS = {
    "bool": "a JSON boolean (true/false)",
    "int": "a JSON integer",
    "decimal": "a JSON number",
    "string": "a JSON string",
    "complex": "a JSON object",
    "resource": "a JSON object (a resource)",
}


def datatype_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    model = model_class(resource_type)
    if model is None:
        return []
    issues: list[Issue] = []
    stack: list[tuple[type[BaseModel], dict[str, Any], Path, bool]] = [(model, resource, (), True)]
    while stack and len(issues) < MAX_ISSUES:
        current, obj, path, is_resource = stack.pop()
        pending: list[tuple[type[BaseModel], dict[str, Any], Path, bool]] = []
        fields = _fields_of(current)
        if current.__name__ == "Extension":
            _check_ext_1(resource_type, obj, path, issues)
        for key, value in obj.items():
            if is_resource and key == "resourceType":
                continue
            spec = fields.get(key)
            if spec is None or value is None:
                continue  # unknown element: reported by pydantic (extra_forbidden); null: by pass 1
            if spec.is_list:
                if not isinstance(value, list):
                    where = fhirpath(resource_type, (*path, key))
                    issues.append(error("structure", where, f"{where} repeats, so it must be a JSON array."))
                    continue
                for i, item in enumerate(value):
                    if item is not None:
                        _check_item(resource_type, spec, item, path, key, i, pending, issues)
            elif isinstance(value, list):
                where = fhirpath(resource_type, (*path, key))
                issues.append(error("structure", where, f"{where} does not repeat, so it must not be an array."))
            else:
                _check_item(resource_type, spec, value, path, key, None, pending, issues)
        stack.extend(reversed(pending))
    return issues


def _check_item(
    resource_type: str,
    spec: FieldShape,
    item: object,
    path: Path,
    key: str,
    index: int | None,
    stack: list[tuple[type[BaseModel], dict[str, Any], Path, bool]],
    issues: list[Issue],
) -> None:
    """Check one value of element ``key`` (``index`` within its array); queue objects for their own walk.

    The item's path and FHIRPath text are built only when needed: this runs for every element of every write,
    and nearly all of them are fine.
    """
    kind = spec.kind
    if kind == "complex" or kind == "resource":
        if not isinstance(item, dict):
            expr = fhirpath(resource_type, _item_path(path, key, index))
            issues.append(error("structure", expr, f"{expr} must be {_KIND_WORDS[kind]}, not {_json_kind(item)}."))
            return
        if kind == "complex":
            assert spec.model is not None
            stack.append((spec.model, item, _item_path(path, key, index), False))
            return
        inner_type = item.get("resourceType")
        inner_model = model_class(inner_type) if isinstance(inner_type, str) else None
        if inner_model is None:
            expr = fhirpath(resource_type, _item_path(path, key, index))
            issues.append(error("structure", f"{expr}.resourceType", f"{expr} must name a known FHIR resourceType."))
            return
        stack.append((inner_model, item, _item_path(path, key, index), True))
    elif not json_type_ok(kind, item):
        expr = fhirpath(resource_type, _item_path(path, key, index))
        issues.append(error("structure", expr, f"{expr} must be {_KIND_WORDS[kind]}, not {_json_kind(item)}."))


def _item_path(path: Path, key: str, index: int | None) -> Path:
    return (*path, key) if index is None else (*path, key, index)


def _check_ext_1(resource_type: str, ext: dict[str, Any], path: Path, issues: list[Issue]) -> None:
    """ext-1: an extension has nested extensions or a value[x], but not both and not neither."""
    if not ext_1_holds(ext):
        issues.append(
            error(
                "invariant",
                fhirpath(resource_type, path),
                "An extension must have either a value[x] or nested extensions, not both and not neither (ext-1).",
            )
        )


# --- pass 3: the fhir.resources model ----------------------------------------------------------------------

_CHOICE_RE = re.compile(r"\[\s*'([a-z][A-Za-z]*?)[A-Z]")


def _loc_path(loc: tuple[Any, ...]) -> Path:
    parts: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(part)
        elif isinstance(part, str) and part not in ("root", "resource_type") and not part.startswith("function-"):
            parts.append(part)
    return tuple(parts)


_REQUIRED_TYPES = {"missing", "model_field_validation.missing"}
_STRUCTURE_TYPES = {
    "extra_forbidden",
    "model_validation_format",
    "list_type",
    "dict_type",
    "model_type",
    "string_type",
    "bool_type",
    "bool_parsing",
    "int_type",
    "int_parsing",
    "float_type",
    "decimal_type",
    "json_invalid",
    "fhir-validation-wrong-resource-type",
}


def model_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    model = model_class(resource_type)
    if model is None:
        return [error("not-supported", resource_type, f"No FHIR R4 model is available for {resource_type}.")]
    try:
        try:
            model.model_validate(resource)
        except PydanticValidationError as exc:
            return [_issue_from_pydantic(resource_type, err) for err in exc.errors()[:MAX_ISSUES]]
    except Exception as exc:  # fhir.resources bugs on odd input must never surface as a 500
        return [
            error(
                "processing",
                resource_type,
                f"The resource could not be parsed as FHIR R4 ({type(exc).__name__}).",
            )
        ]
    return []


def _quickly_accepted(model: type[BaseModel], resource: dict[str, Any]) -> bool:
    try:
        return accepts(model, resource)
    except Exception:  # the quick check must never be why a write fails: pydantic decides then
        return False


def _issue_from_pydantic(resource_type: str, err: Any) -> Issue:
    etype = str(err.get("type", ""))
    msg = str(err.get("msg", "invalid value"))
    path = _loc_path(tuple(err.get("loc", ())))
    expr = fhirpath(resource_type, path)
    if etype in _REQUIRED_TYPES:
        return error("required", expr, f"{expr} is required.")
    if etype == "extra_forbidden":
        return error("structure", expr, f"{expr} is not an element of {resource_type} in FHIR R4.")
    if etype == "fhir-validation-wrong-resource-type":
        return error("structure", f"{resource_type}.resourceType", "resourceType does not match the resource.")
    if etype == "value_error" and ("field value from this list" in msg or "Any of one field" in msg):
        # choice-type rule from fhir.resources: "Expect any of field value from this list ['valueAddress', …]"
        # (none given) or "Any of one field value is expected …" (several given).
        m = _CHOICE_RE.search(msg)
        choice = f"{expr}.{m.group(1)}[x]" if m else expr
        if "Expect any" in msg:
            return error("required", choice, f"{choice} is required (exactly one of its types).")
        return error("structure", choice, f"Only one type of {choice} may be given.")
    code = "structure" if etype in _STRUCTURE_TYPES else "value"
    text = msg if len(msg) <= 200 else msg[:200] + "…"
    return error(code, expr, f"{expr}: {text}")


def dedupe(issues: list[Issue]) -> list[Issue]:
    """Keep the first report per element; drop later ones on the same element or beneath it."""
    kept: list[Issue] = []
    seen: list[str] = []
    for issue in issues:
        e = issue.expression
        if any(e == s or e.startswith(s + ".") or e.startswith(s + "[") for s in seen):
            continue
        kept.append(issue)
        seen.append(e)
    return kept


def structure_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    """All stage-1 (HTTP 400) issues of a resource whose resourceType is already known to be supported."""
    model = model_class(resource_type)
    if model is not None and _quickly_accepted(model, resource):
        # Passes 1, 2 and 3 would find nothing (model_check.py): only the id rule is left to check.
        return id_issues(resource_type, resource)
    shape = json_shape_issues(resource_type, resource)
    if shape:
        # Non-JSON values or hostile nesting: the typed passes could crash or recurse forever; stop here.
        return shape
    found = id_issues(resource_type, resource) + datatype_issues(resource_type, resource)
    found += model_issues(resource_type, resource)
    return dedupe(found)[:MAX_ISSUES]
