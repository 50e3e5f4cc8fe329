"""Which Zoom the local runner talks to: the one named by the environment, or its own emulator.

Contract (DESIGN.md): ZOOM_API_URL, ZOOM_OAUTH_URL, ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET.
Without ZOOM_API_URL the runner starts the project's emulator on 127.0.0.1 and uses its credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class ZoomConfigError(Exception):
    """Incomplete Zoom settings in the environment: bad usage (exit 2)."""


@dataclass(frozen=True)
class ZoomAccess:
    api_url: str
    oauth_url: str
    account_id: str
    client_id: str
    client_secret: str
    plan: str = "pro"
    emulated: bool = False

    def env(self) -> dict[str, str]:
        return {
            "ZOOM_API_URL": self.api_url,
            "ZOOM_OAUTH_URL": self.oauth_url,
            "ZOOM_ACCOUNT_ID": self.account_id,
            "ZOOM_CLIENT_ID": self.client_id,
            "ZOOM_CLIENT_SECRET": self.client_secret,
            "ZOOM_PLAN": self.plan,
        }


def from_environment(env: Mapping[str, str]) -> ZoomAccess | None:
    """The Zoom named by the environment, or None when ZOOM_API_URL is unset (use the emulator)."""
    api_url = env.get("ZOOM_API_URL", "").strip()
    if not api_url:
        return None
    oauth_url = env.get("ZOOM_OAUTH_URL", "").strip()
    if not oauth_url:
        # Zoom's own layout: api.zoom.us/v2 with OAuth on zoom.us; anything else serves both itself.
        parts = urlsplit(api_url)
        host = "zoom.us" if parts.hostname == "api.zoom.us" else parts.netloc
        oauth_url = f"{parts.scheme}://{host}/oauth/token"
    missing = [name for name in ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET") if not env.get(name, "").strip()]
    if missing:
        raise ZoomConfigError(f"ZOOM_API_URL is set but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not")
    return ZoomAccess(
        api_url=api_url.rstrip("/"), oauth_url=oauth_url, account_id=env["ZOOM_ACCOUNT_ID"].strip(),
        client_id=env["ZOOM_CLIENT_ID"].strip(), client_secret=env["ZOOM_CLIENT_SECRET"].strip(),
        plan=env.get("ZOOM_PLAN", "pro").strip() or "pro",
    )
