#!/usr/bin/python3
"""Change-feed delivery latency: from a write's COMMIT to its NOTIFY at a listener.

Used by test/bench/feed_latency.sh. Connection: the libpq environment (PGHOST,
PGPORT, PGDATABASE). The files must exist: OURS_PREFIX + i and PEER_PREFIX + i for
i in 1..COUNT (12 hex digits), each at version 1, in project OURS_PROJECT (ours)
and PEER_PROJECT (peer_files).

One connection LISTENs on both channels (concurrent_edit.channel_name of our
project, 'peer_' || hex of the peer's project); a thread waits on its socket and
stamps each notification when it arrives. Another connection writes, one write at
a time, alternating ours (concurrent_edit.write) and the peer (peer_write, whose
pg_notify is in the same transaction): BEGIN, the write, then COMMIT, stamping the
client clock just before COMMIT is sent ("sent") and right after it returned
("returned"). Each write is on a file of its own, so the notification is matched
by file_id (the payload of ours has no version). The next write starts only once
the notification of the previous one arrived (or after 10 s: counted as lost).

Prints one line per side: "SIDE N LOST p50_returned p99_returned p50_sent p99_sent
NEGATIVE", latencies in ms (returned: received - returned, negative when the
notification arrived before the client saw its COMMIT return; sent: received -
sent; NEGATIVE: how many "returned" latencies were below 0). Nothing is clamped.
Usage: feed_latency.py COUNT OURS_PROJECT OURS_PREFIX PEER_PROJECT PEER_PREFIX
"""
import json
import select
import sys
import threading
import time

import psycopg2

AUTHOR = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"


class Listener(threading.Thread):
    """Stamps each notification (by file_id) with the time its bytes arrived."""

    def __init__(self, channels):
        super().__init__(daemon=True)
        self.conn = psycopg2.connect("", application_name="feed-latency-listener")
        self.conn.autocommit = True
        cur = self.conn.cursor()
        for ch in channels:
            cur.execute(f'LISTEN "{ch}"')
        self.arrived = {}  # file_id -> (monotonic ns, event)
        self.cond = threading.Condition()
        self.stop = False

    def run(self):
        while not self.stop:
            # select releases the GIL: the writer thread runs while this one waits.
            if select.select([self.conn], [], [], 0.5) == ([], [], []):
                continue
            t = time.monotonic_ns()
            self.conn.poll()
            with self.cond:
                while self.conn.notifies:
                    n = self.conn.notifies.pop(0)
                    p = json.loads(n.payload)
                    if p.get("event") == "version":
                        self.arrived.setdefault(p["file_id"], t)
                self.cond.notify_all()

    def wait_for(self, file_id, timeout_s):
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while file_id not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.arrived[file_id]


def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def main():
    count = int(sys.argv[1])
    ours_project, ours_prefix, peer_project, peer_prefix = sys.argv[2:6]
    conn = psycopg2.connect("", application_name="feed-latency-writer")
    cur = conn.cursor()
    cur.execute("SELECT concurrent_edit.channel_name(%s), 'peer_' || replace(%s::text, '-', '')",
                (ours_project, peer_project))
    channels = cur.fetchone()
    conn.commit()
    listener = Listener(channels)
    listener.start()

    sides = {
        "ours": ("SELECT status FROM concurrent_edit.write(%s, %s, 1, %s)", ours_prefix),
        "peer": ("SELECT peer_write(%s, %s, 1, %s)", peer_prefix),
    }
    if len(sys.argv) > 6:
        # The worker's path: a REPEATABLE READ transaction's event waits in
        # change_pending and the worker (woken by the commit) numbers and notifies it.
        sides["ours_worker"] = ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; "
                                "SELECT status FROM concurrent_edit.write(%s, %s, 1, %s)", sys.argv[6])
    results = {s: {"returned": [], "sent": [], "lost": 0} for s in sides}
    for i in range(1, count + 1):
        for side, (sql, prefix) in sides.items():
            file_id = f"{prefix}{i:012x}"
            cur.execute(sql, (file_id, f"edit {i}\nsecond line\n", AUTHOR))  # psycopg2 opened a transaction
            t_sent = time.monotonic_ns()
            conn.commit()
            t_returned = time.monotonic_ns()
            t_recv = listener.wait_for(file_id, 10.0)
            r = results[side]
            if t_recv is None:
                r["lost"] += 1
                continue
            r["returned"].append((t_recv - t_returned) / 1e6)
            r["sent"].append((t_recv - t_sent) / 1e6)
    listener.stop = True
    for side, r in results.items():
        if not r["returned"]:
            print(f"{side} 0 {r['lost']} - - - - 0")
            continue
        neg = sum(1 for v in r["returned"] if v < 0)
        print(f"{side} {len(r['returned'])} {r['lost']} "
              f"{pct(r['returned'], 50):.3f} {pct(r['returned'], 99):.3f} "
              f"{pct(r['sent'], 50):.3f} {pct(r['sent'], 99):.3f} {neg}", flush=True)
    return 0  # lost notifications are in the LOST column: the caller fails the run


if __name__ == "__main__":
    sys.exit(main())
