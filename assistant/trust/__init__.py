"""Trust: how an answer can be checked afterwards (provenance records, the audit log,
replay, the doctor)."""
