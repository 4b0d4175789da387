"""Code systems, value sets and profile canonicals used by the validation rules.

Everything here is a small, closed list copied from FHIR R4 (4.0.1) or the SDOHCC IG STU 2.3
(gravity-sdoh-cc.md §1, §4, §7). The VSAC domain value sets (§7.4) are *not* here: their expansions need a
UMLS licence, so domain bindings are not enforced (see the package docstring).
"""

from __future__ import annotations

# --- canonicals ------------------------------------------------------------------------------------------

SDOHCC_BASE = "http://hl7.org/fhir/us/sdoh-clinicalcare"
SDOHCC_SD = f"{SDOHCC_BASE}/StructureDefinition/"

PROFILE_REFERRAL_TASK = SDOHCC_SD + "SDOHCC-TaskForReferralManagement"
PROFILE_PATIENT_TASK = SDOHCC_SD + "SDOHCC-TaskForPatient"
PROFILE_SERVICE_REQUEST = SDOHCC_SD + "SDOHCC-ServiceRequest"
PROFILE_PROCEDURE = SDOHCC_SD + "SDOHCC-Procedure"
PROFILE_CONDITION = SDOHCC_SD + "SDOHCC-Condition"
PROFILE_CONSENT = SDOHCC_SD + "SDOHCC-Consent"
PROFILE_GOAL = SDOHCC_SD + "SDOHCC-Goal"
PROFILE_OBS_SCREENING_RESPONSE = SDOHCC_SD + "SDOHCC-ObservationScreeningResponse"
PROFILE_OBS_ASSESSMENT = SDOHCC_SD + "SDOHCC-ObservationAssessment"
US_CORE_PROCEDURE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-procedure"

EXT_CONDITION_ASSERTER = SDOHCC_SD + "SDOHCC-ExtensionConditionAsserter"

# --- code systems ----------------------------------------------------------------------------------------

CS_SDOHCC = f"{SDOHCC_BASE}/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
CS_TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
CS_SDC_TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
CS_US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
CS_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CS_US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
CS_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CS_CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CS_V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# SDOHCC-ValueSetSDOHCategory (§7.1): the 23 SDOH domain codes, all from CS_SDOHCC.
SDOH_CATEGORIES: frozenset[str] = frozenset(
    {
        "sdoh-category-unspecified",
        "food-insecurity",
        "housing-instability",
        "homelessness",
        "inadequate-housing",
        "transportation-insecurity",
        "financial-insecurity",
        "material-hardship",
        "educational-attainment",
        "employment-status",
        "veteran-status",
        "stress",
        "social-connection",
        "intimate-partner-violence",
        "elder-abuse",
        "personal-health-literacy",
        "health-insurance-coverage-status",
        "medical-cost-burden",
        "digital-literacy",
        "digital-access",
        "utility-insecurity",
        "incarceration-status",
        "language-access",
    }
)

# The 25 workflow codes of the same code system (§7.2); with the categories these are all 48 codes of 2.3.
SDOHCC_WORKFLOW_CODES: frozenset[str] = frozenset(
    {
        "resulting-activity",
        "sdoh-condition-category",
        "payer-coverage",
        "general-information",
        "make-contact",
        "review-material",
        "risk-questionnaire",
        "feedback-questionnaire",
        "application-questionnaire",
        "personal-characteristics-questionnaire",
        "contact-entity",
        "general-information-response",
        "questionnaire-category",
        "questionnaire-pdf",
        "questionnaire-url",
        "questionnaire-pdf-completed",
        "contacting-subject-prohibited",
        "self-reported",
        "reported-by-related-person",
        "observed",
        "administrative",
        "derived-specify",
        "other-specify",
        "personal-characteristic",
        "chosen-contact",
    }
)
SDOHCC_ALL_CODES: frozenset[str] = SDOH_CATEGORIES | SDOHCC_WORKFLOW_CODES

# --- Task codes (§1, §4.1, §4.2) -------------------------------------------------------------------------

FULFILL = (CS_TASK_CODE, "fulfill")
# SDOHCC-ValueSetTaskCode: the patient task codes.
PATIENT_TASK_CODES: frozenset[tuple[str, str]] = frozenset(
    {
        (CS_SDOHCC, "make-contact"),
        (CS_SDOHCC, "review-material"),
        (CS_SDOHCC, "general-information"),
        (CS_SDC_TEMP, "complete-questionnaire"),
    }
)

# Task.input / Task.output slice discriminators of the patient Task (§4.2) and referral Task (§4.1).
IN_QUESTIONNAIRE = (CS_SDC_TEMP, "questionnaire")
IN_QUESTIONNAIRE_PDF = (CS_SDOHCC, "questionnaire-pdf")
IN_QUESTIONNAIRE_URL = (CS_SDOHCC, "questionnaire-url")
IN_QUESTIONNAIRE_CATEGORY = (CS_SDOHCC, "questionnaire-category")
IN_CONTACT_ENTITY = (CS_SDOHCC, "contact-entity")
OUT_QUESTIONNAIRE_RESPONSE = (CS_SDC_TEMP, "questionnaire-response")
OUT_QUESTIONNAIRE_PDF_COMPLETED = (CS_SDOHCC, "questionnaire-pdf-completed")
OUT_GENERAL_INFORMATION_RESPONSE = (CS_SDOHCC, "general-information-response")
OUT_CHOSEN_CONTACT = (CS_SDOHCC, "chosen-contact")
OUT_RESULTING_ACTIVITY = (CS_SDOHCC, "resulting-activity")

# SDOHCC-ValueSetSDOHQuestionnaireCategory
QUESTIONNAIRE_CATEGORIES: frozenset[str] = frozenset(
    {
        "risk-questionnaire",
        "feedback-questionnaire",
        "application-questionnaire",
        "personal-characteristics-questionnaire",
        "other-specify",
    }
)

# --- status value sets -----------------------------------------------------------------------------------

TASK_STATUS: frozenset[str] = frozenset(
    {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    }
)
# SDOHCC-ValueSetReferralTaskStatus = TaskStatus minus ready, received (§5.1, §12).
REFERRAL_TASK_STATUS: frozenset[str] = TASK_STATUS - {"ready", "received"}
# SDOHCC-ValueSetTaskStatus (§5.2).
PATIENT_TASK_STATUS: frozenset[str] = frozenset(
    {"ready", "in-progress", "completed", "cancelled", "on-hold", "failed", "entered-in-error"}
)
# SDOHCC-ValueSetTaskPriority
PATIENT_TASK_PRIORITY: frozenset[str] = frozenset({"routine", "urgent"})
# SDOHCC-ValueSetObservationStatus (screening responses)
SDOHCC_OBSERVATION_STATUS: frozenset[str] = frozenset({"final", "corrected", "entered-in-error", "unknown"})

REQUEST_PRIORITY: frozenset[str] = frozenset({"routine", "urgent", "asap", "stat"})
REQUEST_STATUS: frozenset[str] = frozenset(
    {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
)
REQUEST_INTENT: frozenset[str] = frozenset(
    {
        "proposal",
        "plan",
        "directive",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    }
)
TASK_INTENT: frozenset[str] = frozenset(
    {
        "unknown",
        "proposal",
        "plan",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    }
)
EVENT_STATUS: frozenset[str] = frozenset(
    {
        "preparation",
        "in-progress",
        "not-done",
        "on-hold",
        "stopped",
        "completed",
        "entered-in-error",
        "unknown",
    }
)
CONDITION_CLINICAL: frozenset[str] = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})
CONDITION_VER_STATUS: frozenset[str] = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)
CONSENT_STATE: frozenset[str] = frozenset({"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"})
GOAL_LIFECYCLE: frozenset[str] = frozenset(
    {
        "proposed",
        "planned",
        "accepted",
        "active",
        "on-hold",
        "completed",
        "cancelled",
        "entered-in-error",
        "rejected",
    }
)
OBSERVATION_STATUS: frozenset[str] = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
QUESTIONNAIRE_RESPONSE_STATUS: frozenset[str] = frozenset(
    {"in-progress", "completed", "amended", "entered-in-error", "stopped"}
)
PUBLICATION_STATUS: frozenset[str] = frozenset({"draft", "active", "retired", "unknown"})
ADMINISTRATIVE_GENDER: frozenset[str] = frozenset({"male", "female", "other", "unknown"})
NARRATIVE_STATUS: frozenset[str] = frozenset({"generated", "extensions", "additional", "empty"})

# Required bindings on *top-level code elements* of the supported resources (R4 4.0.1), checked because
# fhir.resources does not validate value sets. (resource type, element) -> (value set name, codes).
REQUIRED_CODE_BINDINGS: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    ("Task", "status"): ("TaskStatus", TASK_STATUS),
    ("Task", "intent"): ("TaskIntent", TASK_INTENT),
    ("Task", "priority"): ("RequestPriority", REQUEST_PRIORITY),
    ("ServiceRequest", "status"): ("RequestStatus", REQUEST_STATUS),
    ("ServiceRequest", "intent"): ("RequestIntent", REQUEST_INTENT),
    ("ServiceRequest", "priority"): ("RequestPriority", REQUEST_PRIORITY),
    ("Procedure", "status"): ("EventStatus", EVENT_STATUS),
    ("Communication", "status"): ("EventStatus", EVENT_STATUS),
    ("Communication", "priority"): ("RequestPriority", REQUEST_PRIORITY),
    ("Consent", "status"): ("ConsentState", CONSENT_STATE),
    ("Goal", "lifecycleStatus"): ("GoalLifecycleStatus", GOAL_LIFECYCLE),
    ("Observation", "status"): ("ObservationStatus", OBSERVATION_STATUS),
    ("QuestionnaireResponse", "status"): ("QuestionnaireResponseStatus", QUESTIONNAIRE_RESPONSE_STATUS),
    ("Questionnaire", "status"): ("PublicationStatus", PUBLICATION_STATUS),
    ("Patient", "gender"): ("AdministrativeGender", ADMINISTRATIVE_GENDER),
    ("Practitioner", "gender"): ("AdministrativeGender", ADMINISTRATIVE_GENDER),
    ("RelatedPerson", "gender"): ("AdministrativeGender", ADMINISTRATIVE_GENDER),
    ("CareTeam", "status"): (
        "CareTeamStatus",
        frozenset({"proposed", "active", "suspended", "inactive", "entered-in-error"}),
    ),
    ("Location", "status"): ("LocationStatus", frozenset({"active", "suspended", "inactive"})),
    ("Location", "mode"): ("LocationMode", frozenset({"instance", "kind"})),
    ("Group", "type"): (
        "GroupType",
        frozenset({"person", "animal", "practitioner", "device", "medication", "substance"}),
    ),
    ("Device", "status"): ("FHIRDeviceStatus", frozenset({"active", "inactive", "entered-in-error", "unknown"})),
    ("DocumentReference", "status"): (
        "DocumentReferenceStatus",
        frozenset({"current", "superseded", "entered-in-error"}),
    ),
    ("DocumentReference", "docStatus"): (
        "CompositionStatus",
        frozenset({"preliminary", "final", "amended", "entered-in-error"}),
    ),
}

# Required CodeableConcept bindings (at least one coding from the value set's system, with a known code).
REQUIRED_CONCEPT_BINDINGS: dict[tuple[str, str], tuple[str, str, frozenset[str]]] = {
    ("Condition", "clinicalStatus"): ("ConditionClinicalStatusCodes", CS_CONDITION_CLINICAL, CONDITION_CLINICAL),
    ("Condition", "verificationStatus"): (
        "ConditionVerificationStatus",
        CS_CONDITION_VER_STATUS,
        CONDITION_VER_STATUS,
    ),
}
