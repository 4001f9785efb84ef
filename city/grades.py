"""The national grades of an emergency (突发事件分级) and the level of the 三级机长制 that
answers for each: Ⅳ 一般 → village/community, Ⅲ 较大 → township/street, Ⅱ 重大 and Ⅰ 特别重大
→ district. The colours are those of the warning signals (蓝/黄/橙/红)."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """The three levels of duty captains, lowest last."""

    DISTRICT = "district"  # 新区
    TOWNSHIP = "township"  # 乡镇/街道
    VILLAGE = "village"  # 村/居

    @property
    def display_name(self) -> str:
        return {"district": "新区", "township": "乡镇/街道", "village": "村/居"}[self.value]

    @property
    def above(self) -> Level | None:
        """Where an unacknowledged incident escalates to; None at the top."""
        return {"village": Level.TOWNSHIP, "township": Level.DISTRICT, "district": None}[self.value]


class Grade(StrEnum):
    IV = "IV"
    III = "III"
    II = "II"
    I = "I"  # noqa: E741 - the grade is called Ⅰ

    @property
    def display_name(self) -> str:
        return {"IV": "一般", "III": "较大", "II": "重大", "I": "特别重大"}[self.value]

    @property
    def numeral(self) -> str:
        return {"IV": "Ⅳ", "III": "Ⅲ", "II": "Ⅱ", "I": "Ⅰ"}[self.value]

    @property
    def colour(self) -> str:
        return {"IV": "blue", "III": "yellow", "II": "orange", "I": "red"}[self.value]

    @property
    def colour_name(self) -> str:
        return {"IV": "蓝", "III": "黄", "II": "橙", "I": "红"}[self.value]

    @property
    def severity(self) -> int:
        """1 (一般) … 4 (特别重大): sort gravest first by descending severity."""
        return {"IV": 1, "III": 2, "II": 3, "I": 4}[self.value]

    @property
    def responsible_level(self) -> Level:
        return {
            "IV": Level.VILLAGE,
            "III": Level.TOWNSHIP,
            "II": Level.DISTRICT,
            "I": Level.DISTRICT,
        }[self.value]

    @property
    def label(self) -> str:
        """``Ⅲ级 较大`` as operators write it."""
        return f"{self.numeral}级 {self.display_name}"

    def raised(self) -> Grade:
        """One grade graver (a correlation of several incidents); Ⅰ stays Ⅰ."""
        order = [Grade.IV, Grade.III, Grade.II, Grade.I]
        return order[min(order.index(self) + 1, 3)]
