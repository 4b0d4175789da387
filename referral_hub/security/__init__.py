"""Who is acting: the principal shared by the UI, the FHIR API and jobs."""
