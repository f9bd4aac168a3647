"""The audit trail's machinery: the hash chain, change capture, verification and reading.
Callers record through ``cases.services.audit`` (``audit_record``/``audit_record_many``)."""
