"""Money as Decimal: one strict parser for every entry point and one set of formatters."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from ledger.errors import RuleError

CENT = Decimal("0.01")
CURRENCY = "CNY"
#: The largest single amount the ledger accepts; a community fund never moves ten million at once,
#: so anything larger is a typing mistake (an extra zero or a pasted account number).
MAX_AMOUNT = Decimal("10000000.00")

# ASCII digits only: str.isdigit() and Decimal() both accept full-width and other scripts' digits.
_PLAIN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3}){1,3}(\.[0-9]{1,2})?")


def parse_amount(
    value: object, *, field: str = "amount", max_amount: Decimal = MAX_AMOUNT
) -> Decimal:
    """Parse a positive CNY amount typed by a person or sent by another program.

    Accepts ``"200"``, ``"200.5"``, ``"200.50"``, ``"1,200.50"`` and surrounding spaces. Refuses
    NaN, infinities, exponents, signs, full-width digits, more than two decimals, zero and
    anything above ``max_amount``. Floats are refused too: they cannot carry cents exactly.

    Args:
        value: the raw input, a ``str`` (or a ``Decimal`` from our own code).
        field: the field name used in the error.
        max_amount: the upper bound.

    Returns:
        The amount quantized to cents.

    Raises:
        RuleError: naming ``field`` with the reason.
    """
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise RuleError(
            field, '金额须为文本形式的数字，如 "200.00"（amount must be a decimal string）'
        )
    if not text:
        raise RuleError(field, "请填写金额（amount is required）", "required")
    if not (_PLAIN.fullmatch(text) or _GROUPED.fullmatch(text)):
        raise RuleError(
            field,
            f"金额格式不正确：{text[:20]!r}；请用如 200 或 1,200.50 的形式，最多两位小数"
            "（use digits with at most two decimals）",
        )
    amount = Decimal(text.replace(",", ""))
    if amount <= 0:
        raise RuleError(field, "金额必须大于零（amount must be positive）")
    if amount > max_amount:
        raise RuleError(
            field, f"金额超过上限 {format_cny(max_amount)}（amount above the limit）", "too_large"
        )
    return amount.quantize(CENT)


def format_cny(amount: Decimal, *, symbol: bool = True) -> str:
    """Format an amount as ``¥1,234.56`` (``-¥1,234.56`` when negative)."""
    q = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    body = f"{abs(q):,.2f}"
    return f"{sign}{'¥' if symbol else ''}{body}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ["", "拾", "佰", "仟"]
_BIG_UNITS = ["", "万", "亿"]


def _four_digits(n: int) -> str:
    out = ""
    zero = False
    for pos in range(3, -1, -1):
        d = (n // 10**pos) % 10
        if d == 0:
            zero = bool(out)
        else:
            if zero:
                out += "零"
                zero = False
            out += _DIGITS[d] + _SMALL_UNITS[pos]
    return out


def to_chinese_capital(amount: Decimal) -> str:
    """Write an amount in Chinese financial capitals (大写), as on receipts: 壹佰元整.

    Args:
        amount: a non-negative amount below one trillion.

    Returns:
        The 大写 text, e.g. ``Decimal("1204.50")`` → ``壹仟贰佰零肆元伍角``.
    """
    q = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if q < 0:
        raise ValueError("negative amounts have no 大写 form")
    cents = int(q * 100)
    yuan, jiao, fen = cents // 100, (cents // 10) % 10, cents % 10
    if yuan == 0 and jiao == 0 and fen == 0:
        return "零元整"
    text = ""
    if yuan:
        groups = []
        n = yuan
        while n:
            groups.append(n % 10000)
            n //= 10000
        parts: list[str] = []
        need_zero = False
        for i in range(len(groups) - 1, -1, -1):
            g = groups[i]
            if g == 0:
                need_zero = bool(parts)
                continue
            if parts and (need_zero or g < 1000):
                parts.append("零")
            parts.append(_four_digits(g) + _BIG_UNITS[i])
            need_zero = False
        text = "".join(parts) + "元"
    if jiao == 0 and fen == 0:
        return text + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text
