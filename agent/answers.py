"""Writing answers from tool results alone: every fact in them comes from a tool, nothing is guessed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

INSTRUCTION_LIKE = re.compile(
    r"ignore (all |any |your |the )?(previous |prior )?instructions|system prompt|reveal|you are now|"
    r"call the tool|tool for user|disregard|jailbreak|as an ai", re.IGNORECASE)
SENTENCE = re.compile(r"(?<=[.!?])\s+")

CAPABILITIES = ("I can tell you what changed in your settings and who changed it, your privacy score and what "
                "pulls it down, explain a setting, make a fix plan, quote a platform's privacy policy with "
                "citations, or ask your extension for a fresh scan.")
BEYOND = "That question is beyond what I can answer without the AI model. " + CAPABILITIES


def _day(value: Any) -> str:
    return str(value)[:10] if value else "an unknown date"


def _when(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else "an unknown time"


def changes(r: dict[str, Any]) -> str:
    rows, connected = r["changes"], r.get("connected", {})
    since = f" since {_when(r['since'])}" if r.get("since") else ""
    if r.get("platform") and r["platform"] not in connected:
        return (f"You have not connected {r['platform']} yet, so I have no record of your settings there and "
                f"can't tell what changed.")
    if not connected:
        return "You have not connected any platform yet, so I can't tell what changed."
    if not rows:
        last = ", ".join(f"{p} on {_day(at)}" for p, at in connected.items())
        return f"Nothing changed{since}. Your last scans: {last}."
    lines = [f"{len(rows)} change{'s' if len(rows) != 1 else ''}{since}:"]
    for c in rows:
        what = c["setting"] or c["setting_key"] or "a setting"
        if c["kind"] == "user_setting_changed":
            fact = f"{what}: {c['before']} → {c['after']}"
        else:
            fact = c["summary"] or what
        effect = {"more_exposed": "more exposed", "less_exposed": "less exposed"}.get(c["direction"], "neutral")
        lines.append(f"- {c['platform_name']}: {fact} — changed by {c['changed_by']}; {effect}, "
                     f"impact {c['impact']} ({_day(c['when'])}).")
    return "\n".join(lines)


def score(r: dict[str, Any]) -> str:
    if not r["platforms"]:
        return "You have no scanned platform yet, so there is no score to show."
    lines = [f"Your overall privacy score is {r['overall']}/100 (100 is most private)."]
    for p in r["platforms"]:
        was = f", was {p['previous_score']}" if p.get("previous_score") is not None else ""
        lines.append(f"- {p['name']}: {p['score']}/100{was}.")
        for risk in p["top_risks"][:3]:
            lines.append(f"  - {risk['label']} is '{risk['value']}' (recommended '{risk['recommended']}'): "
                         f"costs {risk['points_lost']:g} points.")
        if p.get("score_if_top_fixed") is not None and p["top_risks"]:
            lines.append(f"  Fixing the top risks would bring it to {p['score_if_top_fixed']}; "
                         f"fixing everything to {p['score_if_all_fixed']}.")
    return "\n".join(lines)


def explain(r: dict[str, Any]) -> str:
    if not r.get("found"):
        where = ", ".join(r.get("platforms_searched") or []) or "any platform"
        return (f"I can't find a setting matching \"{r.get('asked')}\" in the settings templates for {where}, "
                f"so I can't tell you about it.")
    e = r.get("explanation") or {}
    value = f"Yours is '{r['value']}'" if r.get("value") is not None else "I have no scanned value of yours"
    parts = [f"{r['label']} ({r['platform']}, {r['section']}): {e.get('controls', '')}".rstrip(),
             f"While it is exposed: {e['exposure']}" if e.get("exposure") else "",
             f"The trade-off of the protective value: {e['tradeoff']}" if e.get("tradeoff") else "",
             f"{value}; the recommended value is '{r['recommended']}'. Change it here: {r['deep_link']}"]
    return "\n".join(p for p in parts if p)


def fix_plan(r: dict[str, Any]) -> str:
    kept = r.get("left_as_you_asked") or []
    if not r["steps"]:
        text = "Nothing to fix: every scanned setting is at the recommended value."
    else:
        lines = ["Your fix plan, biggest privacy gain first:"]
        for i, s in enumerate(r["steps"], 1):
            lines.append(f"{i}. {s['platform_name']} — {s['label']}: '{s['from']}' → '{s['to']}' "
                         f"(+{s['gain_points']} points). {s['deep_link']}")
        if r.get("more"):
            lines.append(f"…and {r['more']} more.")
        text = "\n".join(lines)
    if kept:
        text += "\nLeft as they are because you told me so: " + "; ".join(
            f"{k['label']} (\"{k['you_said']}\")" for k in kept) + "."
    return text


def _best_sentences(text: str, query: str, n: int = 2) -> list[str]:
    words = {w for w in re.findall(r"[a-z]{4,}", query.casefold())}
    sentences = [s.strip() for s in SENTENCE.split(text) if s.strip() and not INSTRUCTION_LIKE.search(s)]
    ranked = sorted(sentences, key=lambda s: -len(words & set(re.findall(r"[a-z]{4,}", s.casefold()))))
    return ranked[:n]


def policy(r: dict[str, Any]) -> str:
    quotes = []
    for p in r["passages"]:
        picked = _best_sentences(p["text"], r["query"])
        if picked:
            src = f"{p['platform']} {p.get('document') or 'policy'}" + (f", {p['section']}" if p.get("section") else "")
            quotes.append(f"- \"{' '.join(picked)}\" [{p['citation_id']}] ({src})")
    if not quotes:
        return "I found nothing about that in the stored policy text, so I can't tell."
    return "Here is what the policy text says:\n" + "\n".join(quotes)


def scan(r: dict[str, Any]) -> str:
    name = r["platform_name"]
    if r["kind"] == "policy":
        head = f"I've asked for a refresh of {name}'s privacy policy; {r['who_runs_it']} will fetch it."
    elif r["already_requested"]:
        head = (f"A scan of your {name} settings was already requested on {_when(r['requested_at'])} and is still "
                f"{r['status'].replace('_', ' ')}; {r['who_runs_it']} runs it.")
    else:
        head = f"I've asked for a scan of your {name} settings; {r['who_runs_it']} runs it."
    last = f" Your last scan of {name} was on {_day(r['last_scan_at'])}." if r.get("last_scan_at") else ""
    return f"{head} No scan has run yet, so nothing is updated.{last}"


def state(r: dict[str, Any]) -> str:
    if not r["platforms"]:
        return "You have not connected any platform yet, so I can't tell what your settings are."
    lines = []
    for p in r["platforms"]:
        good = sum(1 for s in p["settings"] if s["at_recommended"])
        lines.append(f"{p['name']} (score {p['score']}/100, scanned {_day(p['scanned_at'])}): {good} of "
                     f"{len(p['settings'])} settings at the recommended value.")
        for s in [s for s in p["settings"] if not s["at_recommended"]][:5]:
            lines.append(f"- {s['label']} is '{s['value']}' (recommended '{s['recommended']}').")
    return "\n".join(lines)


def remember(r: dict[str, Any]) -> str:
    if not r.get("saved"):
        return f"I couldn't save that: {r.get('reason', 'memory is unavailable')}."
    return f"Noted. I'll keep this in mind in later conversations: \"{r['note']}\"."


WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "what_changed": changes, "privacy_score": score, "explain_setting": explain, "fix_plan": fix_plan,
    "search_policy": policy, "request_scan": scan, "privacy_state": state, "remember": remember,
}


def write(tool: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"I couldn't look that up: {r['error']}"
    return WRITERS[tool](r)
