"""List every user and every System Log event of a bounded 90-day query from a running
`oktasync sim` with the official Okta Python SDK, using the SDK's own cursor pagination
(the original parameters sent again beside `after`), and compare the counts with the
simulator's truth (`/__sim/truth`). Exit 1 on any mismatch or SDK error.

Usage: python check_python_sdk.py BASE_URL TOKEN
"""

import asyncio
import datetime as dt
import json
import os
import sys
import urllib.request

from okta.client import Client
from okta.pagination import PaginationHelper


def truth(base_url):
    with urllib.request.urlopen(f"{base_url}/__sim/truth") as r:
        return json.load(r)


async def all_pages(call, **params):
    """Every item of a listing, following the `after` cursor of each `next` link."""
    items, pages, after = [], 0, None
    while True:
        data, resp, err = await call(after=after, **params)
        if err is not None:
            raise RuntimeError(f"page {pages + 1}: {err}")
        pages += 1
        items.extend(data or [])
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if not after:
            return items, pages


async def main(base_url, token):
    # The simulator speaks plain HTTP on loopback; the SDK's own switch for that is read from
    # the environment (or okta.yaml), not from the config dict.
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    client = Client({"orgUrl": base_url, "token": token})
    users, user_pages = await all_pages(client.list_users, limit=50)
    now = dt.datetime.now(dt.timezone.utc)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    events, log_pages = await all_pages(
        client.list_log_events,
        since=iso(now - dt.timedelta(days=90)),
        until=iso(now),
        limit=500,
    )
    t = truth(base_url)
    want_users = sorted(u["id"] for u in t["users"] if u["status"] != "DEPROVISIONED")
    want_logs = sorted(t["logs"])
    got_users = sorted(u.id for u in users)
    got_logs = sorted(e.uuid for e in events)
    print(f"users: SDK listed {len(got_users)} in {user_pages} pages; "
          f"truth has {len(want_users)} not DEPROVISIONED ({len(t['users'])} in all)")
    print(f"System Log: SDK listed {len(got_logs)} events in {log_pages} pages; "
          f"truth has {len(want_logs)}")
    ok = got_users == want_users and got_logs == want_logs
    print("python SDK check: " + ("ok" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
