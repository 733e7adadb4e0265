"""A destination's delivery policy: when its alerts may go, and whether as one digest.

Rules:
- `mode` is `instant`, `hourly` or `daily@HH:MM` (in `tz`); the digest modes hold alerts
  until the next slot after the oldest one, then send them as one digest.
- `quiet` hours `HH:MM-HH:MM` (minutes of day in `tz`, may wrap midnight) hold alerts
  until their end; `muted_until` (epoch seconds) holds them until then. A mute wins over
  quiet hours, quiet hours over the digest slot.
- `related` (reply | edit | alert), when a destination sets it, overrides the watchlist's
  `related:` for the alerts it receives (a later story of an already-alerted event).
- `policy_from_settings` reads a destination's settings (config defaults overlaid with
  the destinations table); a malformed value raises ValueError naming it, which channels
  turn into a `file:line` ConfigError and the deliverer into an instant fallback.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.models import RELATED_MODES


@dataclass(frozen=True)
class Policy:
    """How and when one destination wants its alerts."""

    mode: str = "instant"  # "instant" | "hourly" | "daily@HH:MM"
    quiet: tuple[int, int] | None = None  # minutes of day [start, end) in `tz`
    muted_until: float | None = None
    tz: tzinfo = UTC
    related: str | None = None  # one of RELATED_MODES; None: as the watchlist says

    def hold_until(self, now: float, oldest_created: float) -> float | None:
        """When held alerts may go out, or None when they may go now."""
        if self.muted_until and now < self.muted_until:
            return self.muted_until
        end = self.quiet_end(now)
        if end is not None:
            return end
        slot = self.next_slot(oldest_created)
        if slot is not None and now < slot:
            return slot
        return None

    def quiet_end(self, now: float) -> float | None:
        if not self.quiet:
            return None
        start, end = self.quiet
        local = datetime.fromtimestamp(now, self.tz)
        minute = local.hour * 60 + local.minute
        inside = (start <= minute < end) if start <= end else (minute >= start or minute < end)
        if not inside:
            return None
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end_dt = midnight + timedelta(minutes=end)
        if end_dt <= local:
            end_dt += timedelta(days=1)
        return end_dt.timestamp()

    def next_slot(self, created: float) -> float | None:
        """The digest slot after `created` for hourly/daily modes; None for instant."""
        if self.mode == "instant":
            return None
        local = datetime.fromtimestamp(created, self.tz)
        if self.mode == "hourly":
            return (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).timestamp()
        if self.mode.startswith("daily"):
            hh, mm = parse_hhmm(self.mode.partition("@")[2] or "08:00")
            slot = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
            if slot <= local:
                slot += timedelta(days=1)
            return slot.timestamp()
        return None

    @property
    def digest_mode(self) -> bool:
        return self.mode != "instant"


def parse_hhmm(text: str) -> tuple[int, int]:
    hh, _, mm = text.strip().partition(":")
    h, m = int(hh), int(mm or 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"not a time of day: {text!r}")
    return h, m


def parse_quiet(text: str) -> tuple[int, int]:
    """'22:00-07:00' → (1320, 420) minutes of day."""
    a, sep, b = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours look like 22:00-07:00, got {text!r}")
    (h1, m1), (h2, m2) = parse_hhmm(a), parse_hhmm(b)
    return h1 * 60 + m1, h2 * 60 + m2


def policy_from_settings(settings: Mapping[str, object], default_mode: str = "instant") -> Policy:
    """A destination's Policy from its settings: "mode", "quiet" ("22:00-07:00"),
    "muted_until" (epoch seconds), "tz" (IANA name) and "related" (reply, edit, alert). Missing keys take the defaults;
    a malformed value raises ValueError naming it."""
    mode = str(settings.get("mode") or default_mode).strip().lower()
    if mode.startswith("daily"):
        _, at, hhmm = mode.partition("@")
        h, m = parse_hhmm(hhmm) if at else (8, 0)
        mode = f"daily@{h:02d}:{m:02d}"
    elif mode not in ("instant", "hourly"):
        raise ValueError(f"mode: expected instant, hourly or daily@HH:MM, got {mode!r}")
    quiet_raw = settings.get("quiet")
    quiet: tuple[int, int] | None = None
    if isinstance(quiet_raw, str):
        if quiet_raw.strip() and quiet_raw.strip().lower() != "off":
            quiet = parse_quiet(quiet_raw)
    elif isinstance(quiet_raw, (list, tuple)) and len(quiet_raw) == 2:
        quiet = (int(quiet_raw[0]), int(quiet_raw[1]))  # minutes of day, as Policy keeps them
    elif quiet_raw not in (None, False):
        raise ValueError(f"quiet: expected hours like 22:00-07:00, got {quiet_raw!r}")
    muted_raw = settings.get("muted_until")
    muted_until = float(muted_raw) if muted_raw not in (None, "") else None  # type: ignore[arg-type]
    tz: tzinfo = UTC
    tz_name = settings.get("tz")
    if tz_name:
        try:
            tz = ZoneInfo(str(tz_name))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"tz: unknown time zone {tz_name!r} (use an IANA name like Asia/Riyadh)") from exc
    related_raw = settings.get("related")
    related: str | None = None
    if related_raw not in (None, ""):
        related = str(related_raw).strip().lower()
        if related not in RELATED_MODES:
            raise ValueError(f"related: expected reply, edit or alert, got {related_raw!r}")
    return Policy(mode=mode, quiet=quiet, muted_until=muted_until, tz=tz, related=related)
