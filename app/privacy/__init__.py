"""The privacy engine (issue 14), without Qt: the retention policy and the PII purge
(``retention.py``, ``purge.py``, the scheduled ``purge_job.py``, ``PrivacyService`` in
``service.py``), deletion requests, erasing a subject and access/portability exports
(``subjects.py``, ``SubjectService``).  Redaction of stored text is ``app.pii``'s."""
