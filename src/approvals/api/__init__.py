"""The HTTP API: items, prefill, applications; bearer tokens; one error mapping."""

from approvals.api.app import create_app
from approvals.api.settings import Settings

__all__ = ["Settings", "create_app"]
