"""The data sources: the shared data platform and the electronic licence store.

    sources = sources_for_sandbox()                  # in-process sandbox apps
    sources = sources_from_config(load_connectors()) # real HTTP, from connectors/ + env
    inputs = await sources.gather(loaded, applicant_id, form, on)
    form = await sources.prefill(loaded, applicant_id, on)

Every failure of a source reaches the engine as `Gathered(error=...)` (and, below
that, as `approvals.errors.SourceUnavailable`), never as an httpx exception.
"""

from approvals.sources.errors import ConnectorConfigError
from approvals.sources.factory import sources_for_sandbox, sources_from_config
from approvals.sources.gather import Sources
from approvals.sources.http import Fetched
from approvals.sources.licences import LicenceRead, LicenceStoreClient
from approvals.sources.platform import DatasetRead, PlatformClient
from approvals.sources.prefill import FieldSource, InputState, Prefill, PrefillField
from approvals.sources.verify import licence_view

__all__ = [
    "ConnectorConfigError",
    "DatasetRead",
    "Fetched",
    "FieldSource",
    "InputState",
    "LicenceRead",
    "LicenceStoreClient",
    "PlatformClient",
    "Prefill",
    "PrefillField",
    "Sources",
    "licence_view",
    "sources_for_sandbox",
    "sources_from_config",
]
