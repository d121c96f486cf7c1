"""The sandbox: a simulated shared data platform and licence store with synthetic people.

SANDBOX ONLY: every person, record, licence and issuer key here is made up. See
docs/sandbox.md for the fixture format, the endpoints and the showcase applicants.
"""

from approvals.sandbox.fixtures import (
    FIXTURES_ENV,
    FixtureError,
    Fixtures,
    fixtures_json_schema,
    load_fixtures,
)
from approvals.sandbox.keys import issuer_private_key, signing_key
from approvals.sandbox.platform import create_platform_app
from approvals.sandbox.signing import signed_licences
from approvals.sandbox.store import LicenceStore, create_licence_store_app

__all__ = [
    "FIXTURES_ENV",
    "FixtureError",
    "Fixtures",
    "LicenceStore",
    "create_licence_store_app",
    "create_platform_app",
    "fixtures_json_schema",
    "issuer_private_key",
    "load_fixtures",
    "signed_licences",
    "signing_key",
]
