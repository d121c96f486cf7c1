"""Request bodies. Responses are the plain dicts built by `approvals.service`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrefillRequest(_Body):
    applicant: str | None = Field(
        default=None, description="Staff only: the citizen to prefill for (default: the caller)"
    )
    on: dt.date | None = Field(
        default=None, description="Staff/auditor in the sandbox only: the application date"
    )
    consent_id: str | None = Field(
        default=None,
        description="The consent grant to read under (a citizen's authorization code at a "
        "counter); default: the applicant's active grant for the item, or a new one",
    )


class ApplicationRequest(_Body):
    item: str = Field(min_length=1, description="Item code, e.g. longevity-allowance")
    form: dict[str, Any] = Field(
        default_factory=dict, description="What only the applicant can supply; autofilled "
        "fields are re-read from the sources and need not be sent",
    )
    applicant: str | None = Field(
        default=None, description="Staff only (免证办): the citizen filed for (default: the caller)"
    )
    on: dt.date | None = Field(
        default=None,
        description="Staff/auditor in the sandbox only: the application date D "
        "(default: today in Asia/Shanghai)",
    )
    consent_id: str | None = Field(
        default=None,
        description="The consent grant to read under (prefill returns it); default: the "
        "applicant's active grant for the item, or a new one",
    )


class TokenRequest(_Body):
    subject: str = Field(description="Citizen ID number (GB 11643)")
    role: str = Field(default="citizen", description="citizen | staff | auditor")
