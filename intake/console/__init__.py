"""The consoles' static pages (static/): plain HTML and small scripts, no build step.

Served at /console/ by intake.http.console_api; every page calls the JSON API on the same origin
with the session cookie and the CSRF secret, and builds the page with DOM text nodes only, so a
citizen's text is always shown as text.
"""
