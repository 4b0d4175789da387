"""The CapabilityStatement, generated from what the server really registers.

Resource types, search parameters and include paths come from the search-parameter registry and the interactions
from the routes the REST layer serves, so ``/metadata`` cannot drift from behaviour.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from referral_hub.fhir.search import SPECIAL_PARAMS
from referral_hub.fhir.search_params import all_resource_types, params_for

SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
COORDINATION_PLATFORM = f"{SDOHCC}/CapabilityStatement/SDOHCC-CoordinationPlatform"
IMPLEMENTATION_GUIDE = f"{SDOHCC}/ImplementationGuide/hl7.fhir.us.sdoh-clinicalcare"

#: Profiles the hub supports per type (gravity-sdoh-cc.md §6.2.2, Coordination Platform server).
SUPPORTED_PROFILES: dict[str, tuple[str, ...]] = {
    "Task": (
        f"{SDOHCC}/StructureDefinition/SDOHCC-TaskForReferralManagement",
        f"{SDOHCC}/StructureDefinition/SDOHCC-TaskForPatient",
    ),
    "ServiceRequest": (f"{SDOHCC}/StructureDefinition/SDOHCC-ServiceRequest",),
    "Procedure": (f"{SDOHCC}/StructureDefinition/SDOHCC-Procedure",),
    "Consent": (f"{SDOHCC}/StructureDefinition/SDOHCC-Consent",),
    "Condition": (f"{SDOHCC}/StructureDefinition/SDOHCC-Condition",),
    "Goal": (f"{SDOHCC}/StructureDefinition/SDOHCC-Goal",),
    "Observation": (
        f"{SDOHCC}/StructureDefinition/SDOHCC-ObservationScreeningResponse",
        f"{SDOHCC}/StructureDefinition/SDOHCC-ObservationAssessment",
    ),
    "Group": (f"{SDOHCC}/StructureDefinition/SDOHCC-Group",),
    "HealthcareService": (f"{SDOHCC}/StructureDefinition/SDOHCC-HealthcareService",),
    "Location": (f"{SDOHCC}/StructureDefinition/SDOHCC-Location",),
    "PractitionerRole": (f"{SDOHCC}/StructureDefinition/SDOHCC-practitionerrole",),
    "Patient": (f"{US_CORE}/us-core-patient",),
    "Practitioner": (f"{US_CORE}/us-core-practitioner",),
    "Organization": (f"{US_CORE}/us-core-organization",),
    "DocumentReference": (f"{US_CORE}/us-core-documentreference",),
    "CareTeam": (f"{US_CORE}/us-core-careteam",),
    "Questionnaire": ("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-extr-smap",),
    "QuestionnaireResponse": ("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse",),
}

#: Interactions every registered type supports through the generic REST layer.
TYPE_INTERACTIONS = ("read", "vread", "update", "create", "search-type", "history-instance")
SYSTEM_INTERACTIONS = ("batch", "transaction")


@lru_cache(maxsize=1)
def _rest_resources() -> tuple[dict[str, Any], ...]:
    types = all_resource_types()
    revincludes: dict[str, list[str]] = {t: [] for t in types}
    for source in types:
        for param in params_for(source).values():
            if param.type != "reference":
                continue
            for target in param.targets or types:
                if target in revincludes:
                    revincludes[target].append(f"{source}:{param.code}")
    resources = []
    for resource_type in types:
        params = params_for(resource_type)
        entry: dict[str, Any] = {
            "type": resource_type,
            "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalRead": "full-support",
            "conditionalCreate": False,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "referencePolicy": ["literal", "logical", "local"],
            "searchInclude": sorted(f"{resource_type}:{p.code}" for p in params.values() if p.type == "reference"),
            "searchRevInclude": sorted(set(revincludes[resource_type])),
            "searchParam": [
                {
                    "name": p.code,
                    "definition": p.definition,
                    "type": p.type,
                    "documentation": p.documentation,
                }
                for p in sorted(params.values(), key=lambda p: p.code)
            ]
            + [
                {"name": name, "definition": definition, "type": "special", "documentation": documentation}
                for (rtype, name), (definition, documentation) in sorted(SPECIAL_PARAMS.items())
                if rtype == resource_type
            ],
        }
        if resource_type in SUPPORTED_PROFILES:
            entry["supportedProfile"] = list(SUPPORTED_PROFILES[resource_type])
        resources.append(entry)
    return tuple(resources)


def capability_statement(base_url: str) -> dict[str, Any]:
    """The server's CapabilityStatement (R4 4.0.1, JSON only)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-26",
        "publisher": "SDoH referral hub project",
        "kind": "instance",
        "instantiates": [COORDINATION_PLATFORM],
        "software": {"name": "referral-hub", "version": "0.1.0"},
        "implementation": {"description": "SDoH closed-loop referral hub", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "implementationGuide": [IMPLEMENTATION_GUIDE],
        "rest": [
            {
                "mode": "server",
                "documentation": "Gravity SDOH Clinical Care Coordination Platform (STU 2.3) server.",
                "resource": list(_rest_resources()),
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
            }
        ],
    }
