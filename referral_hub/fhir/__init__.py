"""The FHIR R4 boundary: resource store, search, validation and REST API."""
