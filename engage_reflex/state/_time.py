"""Time zones offered in forms, and "changed 2 hours ago"."""

from __future__ import annotations

from datetime import UTC, datetime

# The time zones offered first (the model's own and the browser's are added when missing).
COMMON_TIME_ZONES = [
    "UTC", "Europe/London", "Europe/Lisbon", "Europe/Madrid", "Europe/Paris", "Europe/Brussels",
    "Europe/Amsterdam", "Europe/Berlin", "Europe/Zurich", "Europe/Rome", "Europe/Vienna", "Europe/Oslo",
    "Europe/Stockholm", "Europe/Copenhagen", "Europe/Warsaw", "Europe/Helsinki", "Europe/Athens",
    "Europe/Istanbul", "Africa/Lagos", "Africa/Cairo", "Africa/Nairobi", "Africa/Johannesburg", "Asia/Dubai",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta", "Asia/Shanghai",
    "Asia/Singapore", "Asia/Tokyo", "Australia/Perth", "Australia/Sydney", "Pacific/Auckland",
    "America/Sao_Paulo", "America/Bogota", "America/Mexico_City", "America/New_York", "America/Chicago",
    "America/Denver", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
]


def zone_options(*extra: str) -> list[str]:
    return COMMON_TIME_ZONES + [z for z in dict.fromkeys(extra) if z and z not in COMMON_TIME_ZONES]


def changed_ago(iso: str, now: datetime | None = None) -> str:
    """"just now", "5 minutes ago", "2 hours ago", "yesterday", "3 days ago", else "12 Mar 2026"."""
    try:
        when = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return "at an unknown time"
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    for limit, size, unit in ((3600, 60, "minute"), (86400, 3600, "hour"), (7 * 86400, 86400, "day")):
        if seconds < limit:
            count = int(max(seconds, 0) // size)
            if count == 0:
                return "just now" if unit == "minute" else f"1 {unit} ago"
            if unit == "day" and count == 1:
                return "yesterday"
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return f"on {when.day} {when:%b %Y}"
