"""The alert emails: content builders, one layout rendered to HTML and plain text, Xero's messages in plain words.

Plain Python (``string.Template`` and ``html.escape``), shipped in the shared layer with the rest of
``shared/``. ``python -m shared.emails.render docs/emails`` writes an example of each email.
"""
