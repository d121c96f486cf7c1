"""The citizen's side of 免证办 for tests: grant consent so window staff may file.

Staff read a citizen's data only under a grant the citizen created (in the i-Shenzhen
app, shown at the counter as an authorization code); these helpers play the citizen.
"""

from __future__ import annotations

import httpx


def _grant(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    grant_id: str = response.json()["id"]
    return grant_id


async def citizen_consent(client: httpx.AsyncClient, applicant: str, item: str) -> str:
    r = await client.post("/v1/sandbox/tokens", json={"subject": applicant, "role": "citizen"})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return _grant(await client.post("/v1/me/consents", json={"item": item}, headers=auth))


def citizen_consent_sync(client: httpx.Client, applicant: str, item: str) -> str:
    r = client.post("/v1/sandbox/tokens", json={"subject": applicant, "role": "citizen"})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return _grant(client.post("/v1/me/consents", json={"item": item}, headers=auth))
