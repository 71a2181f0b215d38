"""The digest: for one user and period, what changed, who changed it, how the score moved, the three fixes
worth making, and policy updates each with a cited sentence. Structured for the email, plus its text."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from memory import state as st
from memory.db import Conn
from memory.policies import document_chunks
from memory.scoring import overall_score
from tools.policy_tools import citation_id
from tools.results import ATTRIBUTION

FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.DOTALL)


@dataclass
class Digest:
    user_id: UUID
    period_start: datetime
    period_end: datetime
    headline: str
    changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # platform -> changes
    score: dict[str, Any] = field(default_factory=dict)  # overall before/after and per platform
    fixes: list[dict[str, Any]] = field(default_factory=list)
    policy_updates: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _score_at(history: list[dict[str, Any]], platform: str, at: datetime) -> int | None:
    before = [h["score"] for h in history if h["platform"] == platform and h["computed_at"] <= at]
    return before[-1] if before else None


async def _cited_sentence(conn: Conn, event: dict[str, Any]) -> dict[str, Any] | None:
    after = event["after"] or {}
    sections = [c["section"] if isinstance(c, dict) else c for c in (after.get("changed") or [])]
    sections += [c["section"] if isinstance(c, dict) else c for c in (after.get("added") or [])]
    if not after.get("document_id"):
        return None
    chunks = await document_chunks(conn, UUID(after["document_id"]))
    wanted = [c for c in chunks if any(c["section"] == h or c["section"].endswith(h) for h in sections)] or chunks
    if not wanted:
        return None
    chunk = wanted[0]
    text = " ".join(chunk["text"].split())
    match = FIRST_SENTENCE.match(text)
    return {"citation_id": citation_id(chunk["id"]), "section": chunk["section"],
            "sentence": match.group(1) if match else text[:240]}


async def build_digest(conn: Conn, user_id: UUID, *, since: datetime, until: datetime) -> Digest:
    events = [e for e in await st.changes(conn, user_id, since=since, limit=500) if e["occurred_at"] <= until]
    scores = await st.scores(conn, user_id)
    history = await st.score_history(conn, user_id)
    digest = Digest(user_id=user_id, period_start=since, period_end=until, headline="")
    for e in sorted(events, key=lambda e: e["occurred_at"]):
        if e["kind"] == "platform_policy_updated":
            cited = await _cited_sentence(conn, e)
            digest.policy_updates.append({"platform": e["platform"], "platform_name": e["platform_name"],
                                          "summary": e["summary"], "when": e["occurred_at"], "cited": cited})
            continue
        digest.changes.setdefault(e["platform"], []).append({
            "setting": e["setting_label"] or e["setting_key"], "before": e["before"], "after": e["after"],
            "changed_by": ATTRIBUTION.get(e["attribution"], e["attribution"]), "attribution": e["attribution"],
            "direction": e["direction"], "impact": e["impact"], "summary": e["summary"], "when": e["occurred_at"]})
    per_platform = []
    for p in scores["platforms"]:
        per_platform.append({"platform": p["platform"], "before": _score_at(history, p["platform"], since),
                             "after": _score_at(history, p["platform"], until)})
        risks = (p["breakdown"] or {}).get("top_risks", [])
        digest.fixes += [{"platform": p["platform"], "setting": r["label"], "from": r["value"],
                          "to": r["recommended"], "points": r["points_lost"], "deep_link": r["deep_link"]}
                         for r in risks if r.get("recommended")]
    digest.fixes = sorted(digest.fixes, key=lambda f: -f["points"])[:3]
    digest.score = {"before": overall_score(p["before"] for p in per_platform),
                    "after": overall_score(p["after"] for p in per_platform), "platforms": per_platform}
    n = sum(len(v) for v in digest.changes.values())
    by_platform = sum(1 for v in digest.changes.values() for c in v if c["attribution"] != "user")
    digest.headline = (f"{n} setting change{'s' if n != 1 else ''} ({by_platform} by the platforms), "
                       f"{len(digest.policy_updates)} policy update{'s' if len(digest.policy_updates) != 1 else ''}, "
                       f"score {digest.score['before']} → {digest.score['after']}")
    digest.text = render(digest)
    return digest


def render(d: Digest) -> str:
    lines = [d.headline, "", f"Period: {d.period_start:%Y-%m-%d} to {d.period_end:%Y-%m-%d}"]
    for platform, changes in d.changes.items():
        lines += ["", f"{platform}:"]
        for c in changes:
            fact = (f"{c['setting']}: {c['before']} → {c['after']}" if c["before"] is not None and c["after"] is not None
                    else c["summary"])
            lines.append(f"- {fact} (changed by {c['changed_by']}; impact {c['impact']})")
    if d.fixes:
        lines += ["", "Top fixes:"]
        lines += [f"{i}. {f['platform']} — {f['setting']}: {f['from']} → {f['to']} (+{f['points']:g} points) "
                  f"{f['deep_link']}" for i, f in enumerate(d.fixes, 1)]
    if d.policy_updates:
        lines += ["", "Policy updates:"]
        for u in d.policy_updates:
            cited = u["cited"]
            quote = f" \"{cited['sentence']}\" [{cited['citation_id']}]" if cited else ""
            lines.append(f"- {u['platform_name']}: {u['summary']}.{quote}")
    return "\n".join(lines)
