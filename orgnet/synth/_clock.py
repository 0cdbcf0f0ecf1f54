"""Calendar helpers: days of the period, time-zone offsets, working hours, Poisson draws."""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import math
import random
from zoneinfo import ZoneInfo

__all__ = ["Calendar", "add_months", "iso_utc", "poisson"]

_DAY = 86400
# Relative weight of each local hour for working activity (quiet nights, a lunch dip).
_HOUR_WEIGHTS = (
    0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.6, 1.0, 1.2, 1.1,
    0.7, 0.9, 1.2, 1.2, 1.0, 0.7, 0.35, 0.15, 0.1, 0.08, 0.04, 0.02,
)
_HOUR_CUM = [sum(_HOUR_WEIGHTS[: i + 1]) for i in range(24)]
WEEKEND_WEIGHT = 0.04


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months (clamped to the month's last day)."""
    month0 = day.month - 1 + months
    year = day.year + month0 // 12
    month = month0 % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def iso_utc(epoch: float) -> str:
    """``2026-01-05T14:07:31Z`` for an epoch second."""
    return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    k, prod = 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


class Calendar:
    """The period ``[start, start + months)``: day indices, month bounds and local time.

    Day ``i`` is ``start + i days``; epochs are UTC seconds. Offsets of each time zone are
    taken at local noon of each day, so daylight-saving changes are followed day by day.
    """

    def __init__(self, start: dt.date, months: int, zones: list[str]) -> None:
        self.start = start
        self.months = months
        self.month_starts = [(add_months(start, m) - start).days for m in range(months + 1)]
        self.n_days = self.month_starts[-1]
        self.end = start + dt.timedelta(days=self.n_days)
        self.base = calendar.timegm(start.timetuple())
        self.end_epoch = self.base + self.n_days * _DAY
        self.weekend = [(start + dt.timedelta(days=i)).weekday() >= 5 for i in range(self.n_days)]
        self._weights: dict[tuple[int, int], list[float]] = {}
        self.offsets: dict[str, list[int]] = {}
        for zone in zones:
            info = ZoneInfo(zone)
            row = []
            for i in range(self.n_days):
                day = start + dt.timedelta(days=i)
                noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=info)
                offset = noon.utcoffset()
                row.append(int(offset.total_seconds()) if offset is not None else 0)
            self.offsets[zone] = row

    def date(self, day: int) -> dt.date:
        """The calendar date of day index ``day``."""
        return self.start + dt.timedelta(days=day)

    def day_of(self, epoch: float) -> int:
        """Day index of a UTC epoch, clamped to the period."""
        return min(self.n_days - 1, max(0, int((epoch - self.base) // _DAY)))

    def month_of_day(self, day: int) -> int:
        """Month index of a day index."""
        return bisect.bisect_right(self.month_starts, day) - 1

    def month_epochs(self, month: int) -> tuple[int, int]:
        """UTC epoch bounds ``[lo, hi)`` of month ``month``."""
        lo = self.base + self.month_starts[month] * _DAY
        hi = self.base + self.month_starts[month + 1] * _DAY
        return lo, hi

    def day_weights(self, lo: int, hi: int) -> list[float]:
        """Cumulative weights of days ``lo..hi-1`` (weekdays 1, weekend days quiet)."""
        cached = self._weights.get((lo, hi))
        if cached is not None:
            return cached
        cum, total = [], 0.0
        for i in range(lo, hi):
            total += WEEKEND_WEIGHT if self.weekend[i] else 1.0
            cum.append(total)
        self._weights[(lo, hi)] = cum
        return cum

    def work_time(self, rng: random.Random, zone: str, day: int) -> float:
        """A UTC epoch inside day ``day`` at a working hour of time zone ``zone``."""
        hour = bisect.bisect_left(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
        local = hour * 3600 + rng.random() * 3600
        return self.base + day * _DAY + local - self.offsets[zone][day]

    def local_iso(self, epoch: float, zone: str) -> str:
        """Strict ISO 8601 in the zone's offset, like git's ``%aI``."""
        offset = self.offsets[zone][self.day_of(epoch)]
        tz = dt.timezone(dt.timedelta(seconds=offset))
        return dt.datetime.fromtimestamp(int(epoch), tz=tz).isoformat()

    def next_working(self, rng: random.Random, zone: str, epoch: float) -> float:
        """``epoch`` if it falls in working hours of ``zone``, else the next working morning."""
        for _ in range(8):
            day = int((epoch - self.base) // _DAY)
            if day < 0 or day >= self.n_days:
                return epoch
            offset = self.offsets[zone][day]
            local = epoch + offset - self.base - day * _DAY
            local_day = day + int(local // _DAY)
            hour = (local % _DAY) / 3600
            if 0 <= local_day < self.n_days and not self.weekend[local_day] and 8 <= hour < 19:
                return epoch
            if hour >= 8:  # evening: move to the next morning
                local_day += 1
            if local_day >= self.n_days or local_day < 0:
                return epoch
            morning = 8.5 * 3600 + rng.random() * 2.5 * 3600
            epoch = self.base + local_day * _DAY + morning - self.offsets[zone][local_day]
        return epoch
