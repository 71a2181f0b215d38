"""Finding the platform and setting a person means, by fuzzy matching over the catalog's own labels."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from memory.structure import TemplateSetting, normalise_label

# Names people use that are not the catalog's.
ALIASES = {
    "twitter": "x", "tweets": "x", "fb": "facebook", "insta": "instagram", "ig": "instagram",
    "gmail": "google", "android": "google", "chatgpt": "openai", "bing": "microsoft", "windows": "microsoft",
    "alexa": "amazon", "yt": "youtube",
}
SETTING_MIN = 78  # below this a match is more often wrong than right on the real catalog's labels
STOP = {"the", "my", "a", "an", "is", "what", "does", "do", "setting", "settings", "explain", "about", "on", "of",
        "mean", "means", "tell", "me", "how", "why", "should", "i", "turn", "off", "it", "this", "to", "and"}


@dataclass(frozen=True)
class SettingMatch:
    platform: str
    setting: TemplateSetting
    score: float


def find_platform(text: str, platforms: Iterable[tuple[str, str]]) -> str | None:
    """The slug of the platform named in the text (slug, name or a common alias), else None."""
    words = re.findall(r"[a-z0-9]+", text.casefold())
    known = list(platforms)
    for slug, name in known:
        name_words = re.findall(r"[a-z0-9]+", name.casefold())
        if len(slug) > 1 and slug in words:
            return slug
        n = len(name_words)
        if n and any(words[i:i + n] == name_words for i in range(len(words) - n + 1)):
            return slug
    slugs = {s for s, _ in known}
    for word in words:
        if ALIASES.get(word) in slugs:
            return ALIASES[word]
    # "X" alone is too common a letter: only the capital, standing alone, counts.
    if "x" in slugs and re.search(r"(?<![\w-])X(?![\w-])", text):
        return "x"
    return None


def _content(text: str) -> str:
    return " ".join(w for w in normalise_label(text).split() if w not in STOP)


def find_settings(text: str, candidates: Sequence[tuple[str, TemplateSetting]], *, limit: int = 3,
                  minimum: float = SETTING_MIN) -> list[SettingMatch]:
    """Settings whose label (or key) the text names, best first; only labels that exist can come back."""
    wanted = _content(text)
    if not wanted:
        return []
    scored = []
    for platform, s in candidates:
        label = _content(s.label) or normalise_label(s.label)
        key = s.key.replace("_", " ")
        score = max(fuzz.token_set_ratio(wanted, label), fuzz.partial_ratio(label, wanted) if len(label) > 6 else 0,
                    fuzz.token_set_ratio(wanted, key))
        if score >= minimum:
            scored.append(SettingMatch(platform, s, score))
    scored.sort(key=lambda m: (-m.score, -m.setting.weight, m.setting.label))
    return scored[:limit]
