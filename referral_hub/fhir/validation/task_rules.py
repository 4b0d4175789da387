"""Stage 2 (HTTP 422) rules for Tasks: the two SDOHCC Task profiles plus base R4 inv-1.

Sources: gravity-sdoh-cc.md §4.1 (Task For Referral Management), §4.2 (Task For Patient, SDOH-Task-1…7),
§5 (status value sets), §3.8 / §5.1 (completion needs an output — SHALL in STU3 refer-9, hub policy now).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import codes
from .access import (
    as_dict,
    as_list,
    codings,
    contained_type,
    has_coding,
    is_before,
    reference_type,
    text_of,
)
from .issues import Issue, error, warning
from .profiles import TaskKind

# §4.1 statusReason comment: "include text when status is rejected, cancelled, on-hold or failed".
REASON_REQUIRED_STATUSES = frozenset({"rejected", "cancelled", "on-hold", "failed"})


def task_issues(task: dict[str, Any], kind: TaskKind) -> list[Issue]:
    issues = inv_1(task)
    if kind == "referral":
        issues += referral_task_issues(task)
    elif kind == "patient":
        issues += patient_task_issues(task)
    return issues


def inv_1(task: dict[str, Any]) -> list[Issue]:
    """R4 Task inv-1: lastModified ≥ authoredOn (checked for every Task)."""
    if is_before(task.get("lastModified"), task.get("authoredOn")):
        return [
            error(
                "invariant",
                "Task.lastModified",
                "Task.lastModified must not be earlier than Task.authoredOn (inv-1).",
            )
        ]
    return []


# --- shared helpers --------------------------------------------------------------------------------------


def _required(task: dict[str, Any], element: str, profile: str) -> list[Issue]:
    if task.get(element) is None:
        return [error("required", f"Task.{element}", f"Task.{element} is required by {profile}.")]
    return []


def _reference_to(
    task: dict[str, Any], element: str, allowed: Iterable[str], profile: str, expression: str | None = None
) -> list[Issue]:
    """The reference's target type (when it can be told) must be one of ``allowed``."""
    ref = task.get(element)
    if ref is None:
        return []
    target = reference_type(ref) or contained_type(task, ref)
    allowed = tuple(allowed)
    if target is not None and target not in allowed:
        where = expression or f"Task.{element}"
        return [
            error(
                "value",
                where,
                f"{where} must reference {' or '.join(allowed)} in {profile}, not {target}.",
            )
        ]
    return []


def _status_reason_text(task: dict[str, Any], status: str | None) -> list[Issue]:
    reason = task.get("statusReason")
    if reason is not None and text_of(as_dict(reason).get("text")) is None:
        return [
            error(
                "required",
                "Task.statusReason.text",
                "Task.statusReason needs a human-readable text when it is present.",
            )
        ]
    if status in REASON_REQUIRED_STATUSES and reason is None:
        return [
            error(
                "required",
                "Task.statusReason.text",
                f"A referral Task with status '{status}' must say why in Task.statusReason.text.",
            )
        ]
    return []


def _typed(items: object) -> list[tuple[int, dict[str, Any], set[tuple[str | None, str | None]]]]:
    """(index, element, type codings) for Task.input / Task.output entries."""
    return [(i, e, set(codings(e.get("type")))) for i, e in enumerate(as_list(items)) if isinstance(e, dict)]


# --- SDOHCC Task For Referral Management (§4.1) ----------------------------------------------------------

REFERRAL = "SDOHCC-TaskForReferralManagement"


def referral_task_issues(task: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    status = task.get("status") if isinstance(task.get("status"), str) else None
    if status is not None and status not in codes.REFERRAL_TASK_STATUS:
        issues.append(
            error(
                "code-invalid",
                "Task.status",
                f"'{status}' is not allowed for a referral Task (SDOHCC-ValueSetReferralTaskStatus: "
                "TaskStatus without 'ready' and 'received').",
            )
        )
    if task.get("intent") not in (None, "order"):
        issues.append(error("value", "Task.intent", "A referral Task must have intent 'order'."))
    if task.get("code") is None:
        issues += _required(task, "code", REFERRAL)
    elif not has_coding(task["code"], *codes.FULFILL):
        issues.append(
            error(
                "value",
                "Task.code",
                f"A referral Task's code must be {codes.CS_TASK_CODE}#fulfill.",
            )
        )
    for element in ("focus", "for", "authoredOn", "requester"):
        issues += _required(task, element, REFERRAL)
    issues += _reference_to(task, "focus", ["ServiceRequest"], REFERRAL)
    issues += _reference_to(task, "for", ["Patient", "RelatedPerson", "Group"], REFERRAL)
    issues += _reference_to(task, "requester", ["PractitionerRole", "Organization"], REFERRAL)
    for i, part in enumerate(as_list(task.get("partOf"))):
        target = reference_type(part)
        if target is not None and target != "Task":
            issues.append(error("value", f"Task.partOf[{i}]", "Task.partOf must reference a Task."))
    issues += _status_reason_text(task, status)
    issues += _referral_outputs(task, status)
    return issues


def _referral_outputs(task: dict[str, Any], status: str | None) -> list[Issue]:
    """Output slices PerformedActivityReference / PerformedActivityCode, and completion (§3.8)."""
    issues: list[Issue] = []
    usable = 0
    for i, out, types in _typed(task.get("output")):
        if codes.OUT_RESULTING_ACTIVITY not in types:
            issues.append(
                error(
                    "value",
                    f"Task.output[{i}].type",
                    "A referral Task output must have type "
                    f"{codes.CS_SDOHCC}#resulting-activity (what was done to fulfil the referral).",
                )
            )
            continue
        if "valueReference" in out:
            target = reference_type(out["valueReference"]) or contained_type(task, out["valueReference"])
            if target is not None and target != "Procedure":
                issues.append(
                    error(
                        "value",
                        f"Task.output[{i}].value[x]",
                        f"A resulting-activity output must reference a Procedure, not {target}.",
                    )
                )
                continue
            usable += 1
        elif "valueCodeableConcept" in out:
            usable += 1
        else:
            issues.append(
                error(
                    "value",
                    f"Task.output[{i}].value[x]",
                    "A resulting-activity output must be a valueReference to a Procedure or a "
                    "valueCodeableConcept (procedure code).",
                )
            )
    if status == "completed" and usable == 0 and not issues:
        issues.append(
            error(
                "required",
                "Task.output",
                "A completed referral Task must say what was done: add at least one output of type "
                "resulting-activity referencing a Procedure (or giving a procedure code).",
            )
        )
    return issues


# --- SDOHCC Task For Patient (§4.2) ----------------------------------------------------------------------

PATIENT = "SDOHCC-TaskForPatient"


def patient_task_issues(task: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    status = task.get("status") if isinstance(task.get("status"), str) else None
    if status is not None and status not in codes.PATIENT_TASK_STATUS:
        allowed = ", ".join(sorted(codes.PATIENT_TASK_STATUS))
        issues.append(
            error(
                "code-invalid",
                "Task.status",
                f"'{status}' is not allowed for a patient Task (SDOHCC-ValueSetTaskStatus: {allowed}).",
            )
        )
    if task.get("intent") not in (None, "order"):
        issues.append(error("value", "Task.intent", "A patient Task must have intent 'order'."))
    priority = task.get("priority")
    if priority is None:
        issues += _required(task, "priority", PATIENT)
    elif priority not in codes.PATIENT_TASK_PRIORITY:
        issues.append(
            error(
                "code-invalid",
                "Task.priority",
                "A patient Task's priority must be 'routine' or 'urgent' (SDOHCC-ValueSetTaskPriority).",
            )
        )
    for element in ("code", "for", "authoredOn", "requester", "owner"):
        issues += _required(task, element, PATIENT)
    issues += _reference_to(task, "for", ["Patient"], PATIENT)
    issues += _reference_to(task, "requester", ["PractitionerRole", "Organization"], PATIENT)
    issues += _reference_to(task, "owner", ["Patient", "RelatedPerson"], PATIENT)
    reason = task.get("statusReason")
    if reason is not None and text_of(as_dict(reason).get("text")) is None:
        issues.append(
            error(
                "required",
                "Task.statusReason.text",
                "Task.statusReason needs a human-readable text when it is present.",
            )
        )
    elif status == "cancelled" and reason is None:
        issues.append(
            warning(
                "business-rule",
                "Task.statusReason.text",
                "A cancelled patient Task should say why in Task.statusReason.text.",
            )
        )
    issues += _patient_slices(task)
    issues += _patient_invariants(task)
    return issues


_SINGLE_INPUTS = {
    codes.IN_QUESTIONNAIRE: "questionnaire",
    codes.IN_QUESTIONNAIRE_PDF: "questionnaire-pdf",
    codes.IN_QUESTIONNAIRE_URL: "questionnaire-url",
    codes.IN_QUESTIONNAIRE_CATEGORY: "questionnaire-category",
}
_SINGLE_OUTPUTS = {
    codes.OUT_QUESTIONNAIRE_RESPONSE: "questionnaire-response",
    codes.OUT_QUESTIONNAIRE_PDF_COMPLETED: "questionnaire-pdf-completed",
    codes.OUT_CHOSEN_CONTACT: "chosen-contact",
}
# slice type -> (value[x] property, allowed reference targets or None)
_INPUT_VALUES: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {
    codes.IN_QUESTIONNAIRE: ("valueCanonical", None),
    codes.IN_QUESTIONNAIRE_PDF: ("valueReference", ("DocumentReference",)),
    codes.IN_QUESTIONNAIRE_URL: ("valueUrl", None),
    codes.IN_QUESTIONNAIRE_CATEGORY: ("valueCodeableConcept", None),
    codes.IN_CONTACT_ENTITY: (
        "valueReference",
        ("HealthcareService", "PractitionerRole", "Practitioner", "Organization"),
    ),
}
_OUTPUT_VALUES: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {
    codes.OUT_QUESTIONNAIRE_RESPONSE: ("valueReference", ("QuestionnaireResponse",)),
    codes.OUT_QUESTIONNAIRE_PDF_COMPLETED: ("valueReference", ("DocumentReference",)),
    codes.OUT_GENERAL_INFORMATION_RESPONSE: ("valueMarkdown", None),
    codes.OUT_CHOSEN_CONTACT: ("valueMarkdown", None),
}


def _slice_value_issues(
    task: dict[str, Any],
    element: str,
    entries: list[tuple[int, dict[str, Any], set[tuple[str | None, str | None]]]],
    shapes: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]],
) -> list[Issue]:
    issues: list[Issue] = []
    for i, entry, types in entries:
        for slice_type, (prop, targets) in shapes.items():
            if slice_type not in types:
                continue
            where = f"Task.{element}[{i}].value[x]"
            if prop not in entry:
                issues.append(error("value", where, f"A '{slice_type[1]}' {element} must use {prop}."))
            elif targets is not None:
                target = reference_type(entry[prop]) or contained_type(task, entry[prop])
                if target is not None and target not in targets:
                    issues.append(
                        error(
                            "value",
                            where,
                            f"A '{slice_type[1]}' {element} must reference {' or '.join(targets)}, not {target}.",
                        )
                    )
    return issues


def _patient_slices(task: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    inputs = _typed(task.get("input"))
    outputs = _typed(task.get("output"))
    for element, entries, singles in (("input", inputs, _SINGLE_INPUTS), ("output", outputs, _SINGLE_OUTPUTS)):
        for slice_type, name in singles.items():
            if sum(1 for _, _, t in entries if slice_type in t) > 1:
                issues.append(
                    error("structure", f"Task.{element}", f"A patient Task may have at most one '{name}' {element}.")
                )
    issues += _slice_value_issues(task, "input", inputs, _INPUT_VALUES)
    issues += _slice_value_issues(task, "output", outputs, _OUTPUT_VALUES)
    for i, entry, types in inputs:
        if codes.IN_QUESTIONNAIRE_CATEGORY in types and "valueCodeableConcept" in entry:
            if not any(
                s == codes.CS_SDOHCC and c in codes.QUESTIONNAIRE_CATEGORIES
                for s, c in codings(entry["valueCodeableConcept"])
            ):
                issues.append(
                    error(
                        "code-invalid",
                        f"Task.input[{i}].value[x]",
                        "The questionnaire-category input must be one of "
                        + ", ".join(sorted(codes.QUESTIONNAIRE_CATEGORIES))
                        + " (SDOHCC-ValueSetSDOHQuestionnaireCategory).",
                    )
                )
    return issues


def _outputs_all(
    outputs: list[tuple[int, dict[str, Any], set[tuple[str | None, str | None]]]],
    expected: tuple[str, str],
    rule: str,
    why: str,
) -> list[Issue]:
    return [
        error("invariant", f"Task.output[{i}].type", f"{why}: every output must be '{expected[1]}' ({rule}).")
        for i, _, types in outputs
        if expected not in types
    ]


def _patient_invariants(task: dict[str, Any]) -> list[Issue]:
    """SDOH-Task-1…7 (§4.2). Task-6 uses the SDOHCC system the IG intended (§12)."""
    issues: list[Issue] = []
    task_codes = set(codings(task.get("code")))
    inputs = _typed(task.get("input"))
    outputs = _typed(task.get("output"))

    def has_input(kind: tuple[str, str]) -> bool:
        return any(kind in t for _, _, t in inputs)

    if (codes.CS_SDC_TEMP, "complete-questionnaire") in task_codes:
        sources = sum(
            has_input(k) for k in (codes.IN_QUESTIONNAIRE, codes.IN_QUESTIONNAIRE_PDF, codes.IN_QUESTIONNAIRE_URL)
        )
        if sources != 1 or not has_input(codes.IN_QUESTIONNAIRE_CATEGORY):
            issues.append(
                error(
                    "invariant",
                    "Task.input",
                    "A complete-questionnaire Task needs exactly one of the inputs questionnaire, "
                    "questionnaire-pdf or questionnaire-url, and a questionnaire-category input (SDOH-Task-1).",
                )
            )
    if (codes.CS_SDOHCC, "general-information") in task_codes:
        if text_of(task.get("description")) is None:
            issues.append(
                error(
                    "invariant",
                    "Task.description",
                    "A general-information Task must ask its question in Task.description (SDOH-Task-2).",
                )
            )
        issues += _outputs_all(
            outputs, codes.OUT_GENERAL_INFORMATION_RESPONSE, "SDOH-Task-2", "For a general-information Task"
        )
    if (codes.CS_SDOHCC, "review-material") in task_codes:
        focus = task.get("focus")
        target = (reference_type(focus) or contained_type(task, focus)) if focus is not None else None
        if focus is None or (target is not None and target != "DocumentReference"):
            issues.append(
                error(
                    "invariant",
                    "Task.focus",
                    "A review-material Task must have a focus referencing the DocumentReference to review "
                    "(SDOH-Task-3).",
                )
            )
    if (codes.CS_SDOHCC, "make-contact") in task_codes:
        if not has_input(codes.IN_CONTACT_ENTITY):
            issues.append(
                error(
                    "invariant",
                    "Task.input",
                    "A make-contact Task needs at least one contact-entity input (SDOH-Task-4).",
                )
            )
        if text_of(task.get("description")) is None:
            issues.append(
                error(
                    "invariant",
                    "Task.description",
                    "A make-contact Task must describe the contact to make in Task.description (SDOH-Task-7).",
                )
            )
        issues += _outputs_all(outputs, codes.OUT_CHOSEN_CONTACT, "SDOH-Task-7", "For a make-contact Task")
    if has_input(codes.IN_QUESTIONNAIRE):
        issues += _outputs_all(outputs, codes.OUT_QUESTIONNAIRE_RESPONSE, "SDOH-Task-5", "With a questionnaire input")
    if has_input(codes.IN_QUESTIONNAIRE_PDF):
        issues += _outputs_all(
            outputs, codes.OUT_QUESTIONNAIRE_PDF_COMPLETED, "SDOH-Task-6", "With a questionnaire-pdf input"
        )
    return issues
