"""Container health checks (compose.yaml); standard library only, exit 0 when healthy.

``healthcheck.py web [URL]``: GET /healthz (default http://127.0.0.1:8000/healthz) as the
reverse proxy would send it: with the first ALLOWED_HOSTS name as Host and
``X-Forwarded-Proto: https``, so production's host check and HTTPS redirect answer the real
page. Healthy on a 200 within HEALTHCHECK_TIMEOUT seconds (default 5).

``healthcheck.py beat PATH``: the beat schedule file (or its dbm companions PATH.*) was
written within HEALTHCHECK_BEAT_MAX_AGE seconds (default 600; beat saves it every few minutes).
"""

from __future__ import annotations

import glob
import os
import sys
import time
import urllib.error
import urllib.request


def _proxy_host() -> str:
    for name in os.environ.get("ALLOWED_HOSTS", "").split(","):
        name = name.strip().lstrip(".")
        if name and "*" not in name:
            return name
    return "localhost"


def check_web(url: str) -> tuple[bool, str]:
    request = urllib.request.Request(
        url, headers={"Host": _proxy_host(), "X-Forwarded-Proto": "https"}
    )
    timeout = float(os.environ.get("HEALTHCHECK_TIMEOUT", "5"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status == 200, f"{response.status} {response.read(300)!r}"
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.read(300)!r}"
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"


def check_beat(path: str) -> tuple[bool, str]:
    max_age = float(os.environ.get("HEALTHCHECK_BEAT_MAX_AGE", "600"))
    files = [name for name in [path, *glob.glob(glob.escape(path) + ".*")]
             if os.path.exists(name)]
    if not files:
        return False, f"no schedule file at {path}"
    age = time.time() - max(os.path.getmtime(name) for name in files)
    return age <= max_age, f"schedule written {age:.0f} s ago"


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "web":
        ok, detail = check_web(argv[1] if len(argv) > 1 else "http://127.0.0.1:8000/healthz")
    elif len(argv) == 2 and argv[0] == "beat":
        ok, detail = check_beat(argv[1])
    else:
        print("usage: healthcheck.py web [URL] | beat SCHEDULE_PATH", file=sys.stderr)
        return 2
    print(("healthy: " if ok else "unhealthy: ") + detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
