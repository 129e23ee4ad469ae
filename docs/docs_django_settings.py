"""Minimal Django settings so autodoc can import bearerguard.django's modules."""

SECRET_KEY = "docs-only"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
USE_TZ = True
