"""The judge's requests, cache hits, tokens and estimated cost per task and in total (results and printout)."""
from __future__ import annotations

from typing import Any


def judge_usage(provenance: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """From each task's `provenance.judge`: per task and in total; None when no task asked a judge."""
    tasks: dict[str, dict[str, Any]] = {}
    for name, entry in provenance.items():
        judge = entry.get("judge")
        if not isinstance(judge, dict):
            continue
        cost = judge.get("cost") or {}
        tasks[name] = {"n_items": judge.get("n_items", 0), "n_http_calls": judge.get("n_http_calls", 0),
                       "n_cache_hits": judge.get("n_cache_hits", 0), "prompt_tokens": judge.get("prompt_tokens", 0),
                       "completion_tokens": judge.get("completion_tokens", 0), "cost_usd": cost.get("usd"),
                       "price_source": (cost.get("price") or {}).get("source")}
    if not tasks:
        return None
    costs = [t["cost_usd"] for t in tasks.values()]
    total = {key: sum(t[key] for t in tasks.values())
             for key in ("n_items", "n_http_calls", "n_cache_hits", "prompt_tokens", "completion_tokens")}
    # a task without a known price makes the total a lower bound, which the table says
    total["cost_usd"] = round(sum(c for c in costs if c is not None), 6)
    total["tasks_without_price"] = sorted(name for name, t in tasks.items() if t["cost_usd"] is None)
    return {"tasks": tasks, "total": total}


def judge_usage_table(usage: dict[str, Any]) -> str:
    rows = ["| Judge task | Requests | Cache hits (free) | Prompt tokens | Completion tokens | Est. cost (USD) |",
            "|---|---:|---:|---:|---:|---:|"]

    def cost(value: float | None) -> str:
        return "no price (--judge_price)" if value is None else f"{value:.4f}"

    for name, task in usage["tasks"].items():
        rows.append(f"| {name} | {task['n_http_calls']} | {task['n_cache_hits']} | {task['prompt_tokens']} "
                    f"| {task['completion_tokens']} | {cost(task['cost_usd'])} |")
    total = usage["total"]
    lower = " (without " + ", ".join(total["tasks_without_price"]) + ")" if total["tasks_without_price"] else ""
    rows.append(f"| total | {total['n_http_calls']} | {total['n_cache_hits']} | {total['prompt_tokens']} "
                f"| {total['completion_tokens']} | {total['cost_usd']:.4f}{lower} |")
    sources = sorted({t["price_source"] for t in usage["tasks"].values() if t["price_source"]})
    return "\n".join(rows) + (f"\nPrices: {'; '.join(sources)}." if sources else "")
