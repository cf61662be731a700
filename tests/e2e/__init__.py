"""Browser tests (Playwright + Debian chromium). A package so that its conftest does not shadow tests/conftest.py."""
