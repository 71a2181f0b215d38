"""The model switch: Gemini when a key is configured, otherwise none (the offline model answers alone)."""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel

from memory.settings import Settings


def gemini(settings: Settings, *, purpose: Literal["chat", "analysis"] = "chat", timeout: float = 30.0,
           max_retries: int = 1) -> BaseChatModel | None:
    """A Gemini chat model for the purpose (a fast one for chat, a stronger one for analysis), or None."""
    if settings.gemini_api_key is None or not settings.gemini_api_key.get_secret_value():
        return None
    from langchain_google_genai import ChatGoogleGenerativeAI  # only deployments with a key pay its import

    name = settings.gemini_chat_model if purpose == "chat" else settings.gemini_analysis_model
    return ChatGoogleGenerativeAI(
        model=name, api_key=settings.gemini_api_key.get_secret_value(), base_url=settings.gemini_base_url,
        timeout=timeout, max_retries=max_retries, temperature=0.2,
    )
