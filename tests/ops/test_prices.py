"""docs/cost.md carries exactly the generated idle-cost table; the table adds up."""

from __future__ import annotations

import pytest

from kojistack.ops import prices
from support.paths import REPO

COST_MD = REPO / "docs" / "cost.md"


@pytest.mark.parametrize("page", [COST_MD, REPO / "README.md"], ids=lambda p: p.name)
def test_cost_page_holds_the_generated_table(page):
    text = page.read_text()
    start = text.index("-->\n", text.index("<!-- idle-table:begin")) + len("-->\n")
    end = text.index("<!-- idle-table:end")
    assert text[start:end] == prices.idle_table(), "regenerate with: python -m kojistack.ops.prices"
    assert f"Price date: {prices.PRICE_DATE}" in text


def test_idle_total_is_the_sum_of_its_lines():
    lines = prices.idle_lines()
    total = sum(line.monthly for line in lines)
    assert f"**{total:,.2f}**" in prices.idle_table()
    assert 150 < total < 250
    assert prices.usd(0.3) == "$0.30" and prices.usd(0.0225) == "$0.0225" and prices.usd(1) == "$1.00"
