"""Estimated judge cost: tokens (the server's `usage`) times a price per million tokens.

The price comes from `--judge_price in=X,out=Y` (USD per million prompt / completion tokens), else from the small
list below of the judge models the bundled tasks name. Those are the providers' published list prices as read on
PRICES_AS_OF: estimates (no batch or cached-input discounts), to be checked against the provider's page.
A verdict taken from the cache costs nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ov_eval.errors import OvEvalError

PRICES_AS_OF = "2025-01"
# model -> (USD per million prompt tokens, USD per million completion tokens), OpenAI list prices
LIST_PRICES: dict[str, tuple[float, float]] = {
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-3.5-turbo-0613": (1.50, 2.00),
    "gpt-4-0613": (30.00, 60.00),
    "gpt-4o-2024-11-20": (2.50, 10.00),
}


@dataclass(frozen=True)
class JudgePrice:
    input_per_million: float
    output_per_million: float
    source: str  # "--judge_price", or the list price's date (an estimate)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {"input_usd_per_million": self.input_per_million, "output_usd_per_million": self.output_per_million,
                "source": self.source}


def parse_judge_price(text: str) -> JudgePrice:
    """`in=X,out=Y` (USD per million tokens, both required, each >= 0) as a JudgePrice."""
    values: dict[str, float] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or key not in ("in", "out"):
            raise OvEvalError(f"--judge_price: '{pair}' is not in=X or out=Y (USD per million tokens)")
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not value >= 0 or value == float("inf"):
            raise OvEvalError(f"--judge_price: {key} must be a number >= 0, got '{raw.strip()}'")
        values[key] = value
    missing = [k for k in ("in", "out") if k not in values]
    if missing:
        raise OvEvalError(f"--judge_price: '{text}' lacks {' and '.join(missing)}= (e.g. in=2.5,out=10)")
    return JudgePrice(values["in"], values["out"], "--judge_price")


def judge_price(model: str, given: JudgePrice | None) -> JudgePrice | None:
    """The given price, else the list price of a known model, else None (cost unknown)."""
    if given is not None:
        return given
    if model in LIST_PRICES:
        price_in, price_out = LIST_PRICES[model]
        return JudgePrice(price_in, price_out, f"list price as of {PRICES_AS_OF} (estimate)")
    return None


def judge_cost(model: str, given: JudgePrice | None, prompt_tokens: int, completion_tokens: int
               ) -> dict[str, Any]:
    """What a results file records of a task's judge cost."""
    price = judge_price(model, given)
    return {"usd": None if price is None else round(price.cost(prompt_tokens, completion_tokens), 6),
            "price": None if price is None else price.to_dict()}
