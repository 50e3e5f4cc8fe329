"""The run's summary in words: what was blocked and why, what was deliberately not, what Zoom saw."""

from __future__ import annotations

import re

from spam_blocker.services.execute_block import UNSAFE_REASON_PREFIX

from local.pipeline import RunSummary

SHOW_REJECTED = 10
# "block range 1907555 (10,000 numbers) as 18 prefixes around ...": the tiles one decision asked for. Some may
# show under another state (lifted later), or were never requested (a block already covered them).
_TILED = re.compile(r" as (\d+) prefixes around ")
SHOW_TILES = 6


def _grouped(blocks: list[dict]) -> list[list[dict]]:
    """Prefixes decided together (one range tiled around protected numbers) share a reason: one group."""
    groups: dict[tuple, list[dict]] = {}
    for block in blocks:
        key = (block["match_type"], block["state"], block.get("reason") or block["phone_number"]) \
            if block["match_type"] == "prefix" else (block["phone_number"],)
        groups.setdefault(key, []).append(block)
    return list(groups.values())


def _state_label(block: dict) -> str:
    state = block["state"]
    if state == "failed" and (block.get("failure_reason") or "").startswith(UNSAFE_REASON_PREFIX):
        return "not created: a safety rail (range checked again before its POST)"
    return {"active": "blocked", "external": "already blocked in Zoom (a person's entry)",
            "pending": "not in Zoom yet (deferred by Zoom's limits, or Zoom failing)",
            "not_sent": "not sent to Zoom (deferred by Zoom's limits; a later run requests it again)",
            "failed": "FAILED", "expired": "expired", "removed": "removed",
            "would_block": "would be blocked (dry run)", "would_be_removed": "would be removed (dry run)",
            "would_expire": "would expire (dry run)"}.get(state, state)


def render_summary(s: RunSummary) -> str:
    out: list[str] = []
    mode = " (dry run: Zoom was only read; the run was made against a local copy of its list)" if s.dry_run else ""
    if s.events_delivered is None:
        out.append(f"spam-blocker run: {s.events_read:,} events in {s.duration_s:.1f} s{mode}")
    else:
        out.append(f"spam-blocker serve-webhook: {s.events_delivered + s.events_read:,} events in {s.duration_s:.1f} s "
                   f"({s.events_delivered:,} from webhook deliveries, {s.events_read:,} from the events file)")
    out.append(f"  Zoom: {s.zoom_api_url}")
    if s.events_rejected:
        out.append(f"  rejected {s.events_rejected:,} malformed event(s):")
        for r in s.rejected_lines[:SHOW_REJECTED]:
            out.append(f"    line {r.line}: {r.reason}")
        if s.events_rejected > SHOW_REJECTED:
            out.append(f"    ... {s.events_rejected - SHOW_REJECTED:,} more in --summary-json")
    ours = [b for b in s.blocks if b["state"] != "external"]
    prefixes = [b for b in ours if b["match_type"] == "prefix"]
    numbers = [b for b in ours if b["match_type"] != "prefix"]
    out.append("")
    out.append(f"Blocks: {len(prefixes)} prefix(es), {len(numbers)} number(s); "
               f"{s.blocks_requested} requested, "
               + (f"{s.blocks_would_create} would be created in Zoom, {s.blocks_adopted} adopted from Zoom, "
                  f"{s.blocks_removed} would be removed by later evidence, {s.blocks_would_expire} would expire"
                  + (f", {s.blocks_would_lift} adopted over listed numbers would be lifted" if s.blocks_would_lift else "")
                  + " (dry run)" if s.dry_run
                  else f"{s.blocks_created} created in Zoom this run, {s.blocks_adopted} adopted from Zoom, "
                       f"{s.blocks_removed} removed by later evidence, {s.blocks_expired} expired"
                       + (f", {s.blocks_lifted} adopted over listed numbers lifted" if s.blocks_lifted else "")))
    for group in _grouped(prefixes + numbers):
        first = group[0]
        targets = [b["phone_number"] + ("*" if b["match_type"] == "prefix" else "") for b in group]
        until = ""
        if first.get("expires_at") and first["state"] in ("active", "would_block"):
            since = f" from {first['decided_at']}" if first.get("decided_at") else ""
            until = f"{since} until {first['expires_at']}"
        if len(group) == 1:
            out.append(f"  {targets[0]:<16} {_state_label(first)}{until}")
        else:
            shown = ", ".join(targets[:SHOW_TILES]) + (f", … ({len(targets)} in all)" if len(targets) > SHOW_TILES else "")
            decided = _TILED.search(first.get("reason") or "")
            count = (f"{len(group)} of the decision's {decided.group(1)} prefixes"
                     if decided and int(decided.group(1)) != len(group) else f"{len(group)} prefixes")
            out.append(f"  {count} {_state_label(first)}{until}: {shown}")
        why = first.get("failure_reason") if first["state"] == "failed" else first.get("reason")
        if why:
            out.append(f"      why: {why}")
        if first["state"] in ("removed", "expired", "would_be_removed", "would_expire") and first.get("ended_reason"):
            out.append(f"      ended: {first['ended_reason']}")
        elif first.get("lifts"):  # lifted during the run, then blocked again on later evidence (the why above)
            lift = first["lifts"][-1]
            more = f" (and {len(first['lifts']) - 1} time(s) before)" if len(first["lifts"]) > 1 else ""
            out.append(f"      earlier: lifted at {lift['at']}{more} ({lift['reason']}); blocked again later, as the "
                       "why says")
    if s.blocks_past_expiry:
        out.append(f"  {s.blocks_past_expiry} of these are past their end by the file's last event ({s.last_event_at}) "
                   "and stay in Zoom until the expirer runs: add --expire-at (e.g. that time) to end or renew them "
                   "as the hourly schedule would have")
    if s.not_blocked:
        out.append("")
        out.append(f"Deliberately not blocked ({len(s.not_blocked)}):")
        for item in s.not_blocked:
            out.append(f"  {item['phone_number']:<16} {item['why']}")
    out.append("")
    total = sum(s.zoom_requests.values())
    routes = ", ".join(f"{route} {n}" for route, n in sorted(s.zoom_requests.items()))
    out.append(f"Zoom requests: {total} ({routes or 'none'}); 429s: {s.zoom_429s}")
    if s.dry_run:
        rehearsed = ", ".join(f"{route} {n}" for route, n in sorted(s.rehearsal_zoom_requests.items()))
        out.append(f"  the rehearsal's, to the local copy: {sum(s.rehearsal_zoom_requests.values())} ({rehearsed or 'none'})")
    for queue, items in s.dead_letters.items():
        out.append(f"Dead letters in {queue}: {len(items)}")
        for item in items[:SHOW_REJECTED]:
            out.append(f"    {item['reason']}")
    return "\n".join(out)
