"""Jinja2 templates of the published files.

They are Python strings rather than template files so that a non-editable install
(the Docker image runs ``pip install .``) ships them: the package data lists only
``py.typed`` and Markdown files.
"""
