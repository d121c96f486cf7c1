"""The decision log's own tables: Merkle tree nodes and the checkpoints the log signed.

`merkle_nodes` holds, for every complete subtree of the RFC 9162 tree, its hash:
level 0 is the leaf hash `SHA-256(0x00 || leaf)` of the record with that leaf index,
level k the hash of the 2^k leaves `[node * 2^k, (node + 1) * 2^k)`. Rows are only
ever inserted, in the same transaction as the decision record they belong to, so a
proof needs O(log n) lookups however large the log grows.

`log_checkpoints` keeps every checkpoint the log signed, verbatim. The newest one is
what the service checks the stored tree against before it signs anything new, so it
never signs two checkpoints that disagree, also across restarts.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, LargeBinary, Text
from sqlmodel import Field, SQLModel


class TreeNode(SQLModel, table=True):
    __tablename__ = "merkle_nodes"

    level: int = Field(primary_key=True, description="0 = leaf hash; k = subtree of 2^k leaves")
    node: int = Field(primary_key=True, description="Position of the subtree within its level")
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class SignedCheckpoint(SQLModel, table=True):
    __tablename__ = "log_checkpoints"

    seq: int | None = Field(default=None, primary_key=True)
    size: int = Field(index=True)
    root_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False), description="C2SP signed note")
    key_id: str = Field(max_length=200, description="<key name>+<hex key ID> of the signer")
    signed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
