"""The only home of httpx: Zoom's Server-to-Server OAuth and the Phone API (blocked list, call logs)."""
