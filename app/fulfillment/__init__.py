"""Shipping labels for merchant-fulfilled orders (issue 13), without Qt.

``service.py`` is the door (``LabelService``: rates, buying, documents, voiding,
tracking, presets, printers); ``repo.py`` its SQL (v0012); ``models.py`` the records (no
PII); ``printers.py`` the print backends (CUPS by pipe, raw TCP 9100); ``zpl.py`` the text
of a ZPL label for previews.  Label documents carry the buyer's address: memory only.
"""
