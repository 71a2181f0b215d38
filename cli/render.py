"""Human output for the terminal."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from cli.common import console

WHO = {"user": "you", "platform": "the platform", "suspected_platform": "suspected: the platform (silent)"}
IMPACT = {"high": "[bold red]high[/]", "medium": "[yellow]medium[/]", "low": "[green]low[/]"}


def render_changes(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No changes.")
        return
    table = Table("when", "platform", "what changed", "who", "impact", show_lines=False)
    for r in rows:
        when = r.get("occurred_at")
        table.add_row(when.strftime("%Y-%m-%d") if hasattr(when, "strftime") else str(when or ""),
                      r.get("platform", ""), r["summary"], WHO.get(r["attribution"], r["attribution"]),
                      IMPACT.get(r["impact"], r["impact"]))
    console.print(table)


def render_state(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No connected platforms yet.")
    for p in rows:
        table = Table("setting", "section", "yours", "recommended", "weight", title=(
            f"{p['name']} — score {p['score']} (template v{p['template_version']})"))
        for s in p["settings"]:
            mark = "" if not s["shown"] else ("[green]ok[/]" if s["at_recommended"] else "[red]change[/]")
            table.add_row(s["label"], s["section"], s["value"] or "[dim]not shown[/]",
                          f"{s['recommended'] or '-'} {mark}", str(s["weight"]))
        for u in p["unknown"]:
            table.add_row(u["label"], u.get("section") or "", u["value"], "[yellow]not in template[/]", "-")
        console.print(table)


def render_scores(data: dict[str, Any]) -> None:
    console.print(f"Overall privacy score: [bold]{data['overall']}[/] / 100 (higher is more private)")
    table = Table("platform", "score", "top risk", "if top 3 fixed", "if all fixed")
    for p in data["platforms"]:
        b = p.get("breakdown") or {}
        risks = b.get("top_risks") or []
        top = f"{risks[0]['label']} (-{risks[0]['points_lost']})" if risks else "-"
        table.add_row(p["name"], str(p["score"]), top, str(b.get("score_if_top_fixed")),
                      str(b.get("score_if_all_fixed")))
    console.print(table)
