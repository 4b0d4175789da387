"""A small, fast evaluator for the FHIRPath subset used by the search-parameter registry.

Why not a full FHIRPath engine: the store extracts index values on every write, and the bench requires a Task
create to reach at least 35% of a bare insert's throughput (issue 2, scope 8). fhirpathpy 2.2.4 with pre-compiled
expressions needs about 240 µs just to *evaluate* the 23 Task expressions on the IG's completed referral Task
(before any conversion to index values), and it does not implement ``resolve()``, which R4 uses for every
``patient`` parameter. This module compiles the registry's own published expressions (so documentation and
behaviour cannot drift) into closures over plain JSON dicts; see ``indexer`` for the figures.

Supported grammar (anything else raises ``UnsupportedExpression`` at compile time, which a test checks for the
whole registry)::

    expression  := branch ( "|" branch )*
    branch      := "(" path " as " Type ")" | path [ " as " Type ]
    path        := Root ( "." step )*            Root = a resource type or "Resource"
    step        := name                           child element; lists are flattened
                 | "where(resolve() is " Type ")" keep references whose target type is Type
                 | "where(" name "='" text "')"   keep elements whose primitive child equals text
                 | "ofType(" Type ")" | "as(" Type ")"   pick one type of a choice element
                 | "extension('" url "')"         the extensions with that url

Choice elements (``value[x]``, ``effective[x]`` …) are not named in the JSON as written in FHIRPath; which
element paths are choices is listed in ``CHOICE_ELEMENTS`` (a test checks the list against the fhir.resources
R4B models). A choice step always yields ``(value, type)`` where type is the JSON suffix (``CodeableConcept``,
``dateTime``…), so converters know what they hold; plain steps yield ``(value, None)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Element paths (type-relative) whose element is a choice type [x]. Extension.value and UsageContext.value are
# reached through ``extension('…')`` and ``useContext``.
CHOICE_ELEMENTS: frozenset[str] = frozenset(
    {
        "Communication.payload.content",
        "Condition.abatement",
        "Condition.onset",
        "Consent.source",
        "Extension.value",
        "Goal.start",
        "Goal.target.detail",
        "Goal.target.due",
        "Group.characteristic.value",
        "Observation.component.value",
        "Observation.effective",
        "Observation.value",
        "Patient.deceased",
        "Patient.multipleBirth",
        "Procedure.performed",
        "Provenance.occurred",
        "Questionnaire.item.answerOption.value",
        "Questionnaire.item.enableWhen.answer",
        "Questionnaire.item.initial.value",
        "Questionnaire.useContext.value",
        "QuestionnaireResponse.item.answer.value",
        "ServiceRequest.asNeeded",
        "ServiceRequest.occurrence",
        "ServiceRequest.quantity",
        "Task.input.value",
        "Task.output.value",
    }
)

Node = tuple[Any, str | None]  # (JSON value, choice type suffix or None)
_Step = Callable[[list[Any]], list[Any]]


class UnsupportedExpression(ValueError):
    """The expression uses FHIRPath outside the supported subset."""


@dataclass(frozen=True)
class CompiledPath:
    """One union branch: a root type, plain steps over values, and an optional final choice step."""

    root: str
    element_path: tuple[str, ...]  # names of the child steps, for checks against the FHIR model
    steps: tuple[_Step, ...]
    choice: str | None  # name of the final choice element, if the branch ends on one
    choice_type: str | None  # fixed type of that choice (from "as"/"ofType"), or None for every type

    def evaluate(self, resource: dict[str, Any]) -> list[Node]:
        """Values of this branch for ``resource`` (its root must already match)."""
        nodes: list[Any] = [resource]
        for step in self.steps:
            nodes = step(nodes)
            if not nodes:
                return []
        if self.choice is None:
            return [(value, None) for value in nodes]
        return _choice_values(nodes, self.choice, self.choice_type)


@dataclass(frozen=True)
class CompiledExpression:
    """A compiled registry expression: the union of its branches."""

    source: str
    branches: tuple[CompiledPath, ...]

    def evaluate(self, resource: dict[str, Any]) -> list[Node]:
        resource_type = resource.get("resourceType")
        out: list[Node] = []
        for branch in self.branches:
            if branch.root == resource_type or branch.root == "Resource":
                out.extend(branch.evaluate(resource))
        return out


# --- steps ---------------------------------------------------------------------------------------------------------


def _child(name: str) -> _Step:
    def step(nodes: list[Any]) -> list[Any]:
        out: list[Any] = []
        for node in nodes:
            if type(node) is dict:
                value = node.get(name)
                if value is None:
                    continue
                if type(value) is list:
                    out.extend(value)
                else:
                    out.append(value)
        return out

    return step


def _extension(url: str) -> _Step:
    def step(nodes: list[Any]) -> list[Any]:
        out: list[Any] = []
        for node in nodes:
            if type(node) is dict:
                extensions = node.get("extension")
                if type(extensions) is list:
                    out.extend(ext for ext in extensions if type(ext) is dict and ext.get("url") == url)
        return out

    return step


def _where_equals(name: str, text: str) -> _Step:
    def step(nodes: list[Any]) -> list[Any]:
        return [node for node in nodes if type(node) is dict and node.get(name) == text]

    return step


def _where_resolves_to(resource_type: str) -> _Step:
    def step(nodes: list[Any]) -> list[Any]:
        return [node for node in nodes if type(node) is dict and reference_target_type(node) == resource_type]

    return step


def _choice_values(nodes: list[Any], name: str, fixed_type: str | None) -> list[Node]:
    out: list[Node] = []
    if fixed_type is not None:
        key = name + fixed_type[0].upper() + fixed_type[1:]
        for node in nodes:
            if type(node) is dict:
                value = node.get(key)
                if value is not None:
                    if type(value) is list:  # not valid FHIR for a choice, but never raise on shape
                        out.extend((item, fixed_type) for item in value)
                    else:
                        out.append((value, fixed_type))
        return out
    size = len(name)
    for node in nodes:
        if type(node) is dict:
            for key, value in node.items():
                # valueCodeableConcept → "CodeableConcept"; the upper-case check stops "valueSet" style names
                # that are not choices of this element (none exist in R4 today, but it costs nothing).
                if len(key) > size and key.startswith(name) and key[size].isupper() and value is not None:
                    type_name = _primitive_name(key[size:])
                    if type(value) is list:
                        out.extend((item, type_name) for item in value)
                    else:
                        out.append((value, type_name))
    return out


_PRIMITIVES = {
    "Base64Binary": "base64Binary",
    "Boolean": "boolean",
    "Canonical": "canonical",
    "Code": "code",
    "Date": "date",
    "DateTime": "dateTime",
    "Decimal": "decimal",
    "Id": "id",
    "Instant": "instant",
    "Integer": "integer",
    "Markdown": "markdown",
    "Oid": "oid",
    "PositiveInt": "positiveInt",
    "String": "string",
    "Time": "time",
    "UnsignedInt": "unsignedInt",
    "Uri": "uri",
    "Url": "url",
    "Uuid": "uuid",
}


def _primitive_name(suffix: str) -> str:
    """JSON suffix → FHIR type name: ``DateTime`` → ``dateTime``; complex types keep their name."""
    return _PRIMITIVES.get(suffix, suffix)


# --- references ----------------------------------------------------------------------------------------------------

_TYPE_NAME_RE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")


def reference_target_type(reference: dict[str, Any]) -> str | None:
    """The resource type a Reference points to, from its literal reference or else its ``type``.

    Implements ``where(resolve() is X)`` without resolving: ``Patient/1``, ``Patient/1/_history/2`` and
    ``https://other.example/fhir/Patient/1`` all give ``Patient``. Contained (``#x``) and ``urn:`` references fall
    back to ``Reference.type``, which R4 allows to state the target type.
    """
    literal = reference.get("reference")
    if type(literal) is str and literal and literal[0] != "#" and not literal.startswith("urn:"):
        parts = literal.split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        if len(parts) >= 2 and parts[-1] and _TYPE_NAME_RE.match(parts[-2]):
            return parts[-2]
    declared = reference.get("type")
    if type(declared) is str:
        # R4 Reference.type is a uri; for resource types it is the bare name or the StructureDefinition URL.
        return declared.rsplit("/", 1)[-1] or None
    return None


# --- compiler ------------------------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_RESOLVE_RE = re.compile(r"^where\(resolve\(\) is ([A-Z][A-Za-z]+)\)$")
_WHERE_EQ_RE = re.compile(r"^where\(([A-Za-z][A-Za-z0-9]*)\s*=\s*'([^']*)'\)$")
_TYPE_FN_RE = re.compile(r"^(?:ofType|as)\(([A-Za-z][A-Za-z0-9]*)\)$")
_EXTENSION_RE = re.compile(r"^extension\('([^']+)'\)$")
_AS_SUFFIX_RE = re.compile(r"^(.*\S)\s+as\s+([A-Za-z][A-Za-z0-9]*)$", re.DOTALL)


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses and quotes (URLs inside ``extension('…')`` contain dots)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth != 0 or quoted:
        raise UnsupportedExpression(f"unbalanced parentheses or quotes in {text!r}")
    parts.append(text[start:])
    return parts


def _compile_branch(text: str) -> CompiledPath:
    text = text.strip()
    if text.startswith("(") and text.endswith(")") and len(_split_top_level(text[1:-1], "|")) == 1:
        text = text[1:-1].strip()
    as_type: str | None = None
    match = _AS_SUFFIX_RE.match(text)
    if match:
        text, as_type = match.group(1), match.group(2)
    segments = [segment.strip() for segment in _split_top_level(text, ".")]
    root = segments[0]
    if not _TYPE_NAME_RE.match(root):
        raise UnsupportedExpression(f"{text!r} does not start with a resource type")
    steps: list[_Step] = []
    names: list[str] = []
    context = root  # type-relative element path used to recognise choice elements
    choice: str | None = None
    choice_type: str | None = None
    for position, segment in enumerate(segments[1:], start=1):
        is_last = position == len(segments) - 1
        if choice is not None:
            # Only a type selection may follow a choice element, and it must end the path.
            type_match = _TYPE_FN_RE.match(segment)
            if type_match is None or not is_last or choice_type is not None:
                raise UnsupportedExpression(f"only ofType()/as() may follow the choice element in {text!r}")
            choice_type = type_match.group(1)
            continue
        if _NAME_RE.match(segment):
            context = f"{context}.{segment}"
            names.append(segment)
            if context in CHOICE_ELEMENTS:
                choice = segment
            else:
                steps.append(_child(segment))
            continue
        if match := _RESOLVE_RE.match(segment):
            steps.append(_where_resolves_to(match.group(1)))
        elif match := _WHERE_EQ_RE.match(segment):
            steps.append(_where_equals(match.group(1), match.group(2)))
        elif match := _EXTENSION_RE.match(segment):
            steps.append(_extension(match.group(1)))
            names.append(f"extension('{match.group(1)}')")
            context = "Extension"
        else:
            raise UnsupportedExpression(f"unsupported FHIRPath step {segment!r} in {text!r}")
    if as_type is not None:
        if choice is None or choice_type is not None:
            raise UnsupportedExpression(f"'as {as_type}' must apply to a choice element in {text!r}")
        choice_type = as_type
    return CompiledPath(root, tuple(names), tuple(steps), choice, choice_type)


def compile_expression(expression: str) -> CompiledExpression:
    """Compile a registry FHIRPath expression, or raise ``UnsupportedExpression``."""
    branches = tuple(_compile_branch(branch) for branch in _split_top_level(expression, "|"))
    return CompiledExpression(expression, branches)


__all__ = [
    "CHOICE_ELEMENTS",
    "CompiledExpression",
    "CompiledPath",
    "Node",
    "UnsupportedExpression",
    "compile_expression",
    "reference_target_type",
]
