"""The run's context: who is asking, on which plan, through which channel. Set by the API, never the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

Channel = Literal["chat", "popup", "digest"]


@dataclass(frozen=True)
class Context:
    user_id: UUID
    tier: str = "free"
    channel: Channel = "chat"
