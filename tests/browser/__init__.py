"""End-to-end tests in a real browser.

A package, so that this folder's ``conftest`` does not take the place of ``tests/conftest.py``
as the module named ``conftest`` (several tests import shared constants from it).
"""
