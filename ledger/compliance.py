"""Charity spending indicators for one year, against the thresholds the organisation configures.

For year Y, from the statement of activities (:mod:`ledger.financials`, column 合计):

* programme share: 业务活动成本 / 费用合计;
* management cost share: 管理费用 / 费用合计 (at most 13% for social-service organisations and
  social groups, 10% for foundations, unless the organisation sets its own figure);
* fundraising cost share: 筹资费用 / 费用合计 (shown, no limit);
* programme spending against the previous year's income: 业务活动成本(Y) / 收入合计(Y−1) (at
  least 70%); not applicable when Y−1 has no income.

Ratios are compared exactly (numerator × 100 against threshold × denominator); the percentage
shown is rounded to cents of a percent only for display. A share of no spending is "not
applicable", never a division by zero.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledger.book import Book
from ledger.errors import RuleError
from ledger.financials import Period, build_statement

HUNDRED = Decimal("100")
PERCENT_CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrgKind:
    """A kind of organisation and the management cost limit the charity rules give it."""

    slug: str
    name: str
    name_en: str
    management_max: Decimal


ORG_KINDS: dict[str, OrgKind] = {
    "social_service": OrgKind(
        "social_service",
        "社会服务机构 / 社会团体",
        "social-service organisation or social group",
        Decimal("13.00"),
    ),
    "foundation": OrgKind("foundation", "基金会", "foundation", Decimal("10.00")),
}
DEFAULT_ORG_KIND = "social_service"
DEFAULT_PROGRAMME_MIN = Decimal("70.00")

# ASCII digits, at most two decimals: no signs, exponents, NaN or full-width digits.
_PERCENT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class Thresholds:
    """What the organisation holds itself to.

    Attributes:
        org_kind: a key of :data:`ORG_KINDS`.
        management_max: management costs at most this percentage of the year's spending.
        programme_min: programme spending at least this percentage of the previous year's income.
    """

    org_kind: str = DEFAULT_ORG_KIND
    management_max: Decimal = ORG_KINDS[DEFAULT_ORG_KIND].management_max
    programme_min: Decimal = DEFAULT_PROGRAMME_MIN

    @property
    def org_kind_name(self) -> str:
        """The kind of organisation in Chinese."""
        return ORG_KINDS[self.org_kind].name

    def as_setting(self) -> dict[str, str]:
        """The JSON stored under the ``compliance`` organisation setting."""
        return {
            "org_kind": self.org_kind,
            "management_max": format(self.management_max, "f"),
            "programme_min": format(self.programme_min, "f"),
        }


def default_thresholds(org_kind: str = DEFAULT_ORG_KIND) -> Thresholds:
    """The thresholds of the charity rules for a kind of organisation."""
    kind = parse_org_kind(org_kind)
    return Thresholds(kind, ORG_KINDS[kind].management_max, DEFAULT_PROGRAMME_MIN)


def parse_org_kind(value: object, *, field: str = "org_kind") -> str:
    """A key of :data:`ORG_KINDS`.

    Raises:
        RuleError: naming ``field`` when the value is not one of them.
    """
    if isinstance(value, str) and value in ORG_KINDS:
        return value
    raise RuleError(
        field,
        f"机构类型须为 {' / '.join(ORG_KINDS)} 之一（unknown kind of organisation）",
    )


def parse_percent(value: object, *, field: str) -> Decimal:
    """A percentage from 0 to 100 with at most two decimals (``13``, ``12.5``, ``70.00``).

    Args:
        value: the text typed by a person (or a Decimal from our own settings).
        field: the field named in the error.

    Returns:
        The percentage quantized to two decimals.

    Raises:
        RuleError: naming ``field``: not a number, more than two decimals, below 0 or above 100.
    """
    if isinstance(value, Decimal) and value.is_finite():
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
    else:
        raise RuleError(field, "请填写百分比，如 13 或 12.5（percentage is required）", "required")
    if not text:
        raise RuleError(field, "请填写百分比，如 13 或 12.5（percentage is required）", "required")
    if text.startswith("-") and _PERCENT.fullmatch(text[1:]):
        raise RuleError(field, f"百分比不能小于 0：{text[:20]!r}（must be between 0 and 100）")
    if not _PERCENT.fullmatch(text):
        if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text):
            raise RuleError(field, f"百分比最多两位小数：{text[:20]!r}（at most two decimals）")
        raise RuleError(
            field, f"百分比须为 0 至 100 的数字，如 13 或 12.5：{text[:20]!r}（not a number）"
        )
    percent = Decimal(text)
    if percent > HUNDRED:
        raise RuleError(field, f"百分比不能大于 100：{text[:20]!r}（must be between 0 and 100）")
    return percent.quantize(PERCENT_CENT)


def thresholds_from_setting(value: Mapping[str, Any] | None) -> Thresholds:
    """The thresholds stored under the ``compliance`` setting (defaults for what is missing).

    Raises:
        RuleError: a stored value is not valid (named by its key).
    """
    value = value or {}
    kind = parse_org_kind(value.get("org_kind", DEFAULT_ORG_KIND))
    management = value.get("management_max")
    programme = value.get("programme_min")
    return Thresholds(
        kind,
        ORG_KINDS[kind].management_max
        if management in (None, "")
        else parse_percent(str(management), field="management_max"),
        DEFAULT_PROGRAMME_MIN
        if programme in (None, "")
        else parse_percent(str(programme), field="programme_min"),
    )


# -- the indicators ----------------------------------------------------------------------------

MET, BREACHED, NOT_APPLICABLE, INFO = "met", "breached", "not_applicable", "info"
STATUS_TEXT = {
    MET: "达标",
    BREACHED: "未达标",
    NOT_APPLICABLE: "不适用",
    INFO: "仅列示",
}


@dataclass(frozen=True)
class Figure:
    """A figure of the statement of activities an indicator uses, with where to trace it."""

    label: str
    amount: Decimal
    key: str
    period: Period
    kind: str = "activities"
    column: int = 2  # 合计


@dataclass(frozen=True)
class Indicator:
    """One indicator: a ratio of two statement figures, its rule and whether it is met.

    Attributes:
        key: ``programme_share``, ``management_share``, ``fundraising_share`` or
            ``programme_vs_income``.
        ratio: the percentage rounded to two decimals, or None when not applicable.
        rule: the rule as a sentence (``管理费用不高于费用合计的 13.00%``), "" when none.
        status: one of :data:`STATUS_TEXT`'s keys.
        note: why it is not applicable, or what the figure means.
    """

    key: str
    label: str
    label_en: str
    numerator: Figure
    denominator: Figure
    ratio: Decimal | None
    rule: str
    status: str
    note: str = ""

    @property
    def status_text(self) -> str:
        """达标 / 未达标 / 不适用 / 仅列示."""
        return STATUS_TEXT[self.status]

    @property
    def breached(self) -> bool:
        """Whether the organisation's threshold is breached."""
        return self.status == BREACHED


@dataclass(frozen=True)
class Compliance:
    """The indicators of one year."""

    year: int
    thresholds: Thresholds
    indicators: tuple[Indicator, ...]
    head_hash: str
    head_seq: int

    @property
    def breaches(self) -> tuple[Indicator, ...]:
        """The indicators whose threshold is breached."""
        return tuple(i for i in self.indicators if i.breached)

    def indicator(self, key: str) -> Indicator:
        """The indicator named ``key``."""
        for item in self.indicators:
            if item.key == key:
                return item
        raise KeyError(key)


def year_period(year: int) -> Period:
    """1 January to 31 December of ``year``."""
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31))


def percent_of(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """``numerator / denominator`` as a percentage with two decimals; None when the denominator
    is not positive (no spending, no income: the share means nothing)."""
    if denominator <= 0:
        return None
    return (numerator * HUNDRED / denominator).quantize(PERCENT_CENT, rounding=ROUND_HALF_UP)


def _share(
    key: str,
    label: str,
    label_en: str,
    part: Figure,
    whole: Figure,
    *,
    at_most: Decimal | None = None,
    at_least: Decimal | None = None,
    rule: str = "",
    empty_note: str,
) -> Indicator:
    ratio = percent_of(part.amount, whole.amount)
    if ratio is None:
        return Indicator(key, label, label_en, part, whole, None, rule, NOT_APPLICABLE, empty_note)
    # Exact comparison: a rounded 13.00% may hide 13.004%.
    scaled = part.amount * HUNDRED
    if at_most is not None:
        status = BREACHED if scaled > at_most * whole.amount else MET
    elif at_least is not None:
        status = BREACHED if scaled < at_least * whole.amount else MET
    else:
        status = INFO
    return Indicator(key, label, label_en, part, whole, ratio, rule, status)


def compliance_indicators(book: Book, year: int, thresholds: Thresholds) -> Compliance:
    """The indicators of ``year`` from the statements of activities of ``year`` and ``year - 1``.

    Args:
        book: the Book.
        year: the year the indicators are for.
        thresholds: the organisation's thresholds.
    """
    period, before = year_period(year), year_period(year - 1)
    this = build_statement(book, "activities", period)
    last = build_statement(book, "activities", before)

    def figure(label: str, key: str, on: Period) -> Figure:
        statement = this if on == period else last
        return Figure(label, statement.value(key, 2), key, on)

    spending = figure(f"{year} 年费用合计", "费用合计", period)
    programme = figure(f"{year} 年业务活动成本", "业务活动成本", period)
    management = figure(f"{year} 年管理费用", "管理费用", period)
    fundraising = figure(f"{year} 年筹资费用", "筹资费用", period)
    income_before = figure(f"{year - 1} 年收入合计", "收入合计", before)
    no_spending = f"{year} 年没有费用支出，比例不适用（no spending this year）"
    kind = ORG_KINDS[thresholds.org_kind]
    indicators = (
        _share(
            "programme_share",
            "业务活动成本占费用合计",
            "programme costs / total spending",
            programme,
            spending,
            empty_note=no_spending,
        ),
        _share(
            "management_share",
            "管理费用占费用合计",
            "management costs / total spending",
            management,
            spending,
            at_most=thresholds.management_max,
            rule=f"管理费用不高于当年费用合计的 {thresholds.management_max}%"
            f"（{kind.name}；management ≤ {thresholds.management_max}% of spending）",
            empty_note=no_spending,
        ),
        _share(
            "fundraising_share",
            "筹资费用占费用合计",
            "fundraising costs / total spending",
            fundraising,
            spending,
            empty_note=no_spending,
        ),
        _share(
            "programme_vs_income",
            "业务活动成本占上年收入合计",
            "programme costs / previous year's income",
            programme,
            income_before,
            at_least=thresholds.programme_min,
            rule=f"当年业务活动成本不低于上年收入合计的 {thresholds.programme_min}%"
            f"（programme ≥ {thresholds.programme_min}% of the previous year's income）",
            empty_note=f"{year - 1} 年没有收入，此项不适用（no income the year before）",
        ),
    )
    return Compliance(year, thresholds, indicators, this.head_hash, this.head_seq)
