#!/usr/bin/python3
"""Follows a project's change feed without missing or repeating an event.

LISTENs on concurrent_edit.channel_name(project) on a direct connection (not
through a transaction pooler), and keeps the last cursor it handled. A
notification only says that something happened (its payload carries the event,
its cursor and ids); the events themselves, with their details, come from
changes_since(project, last_cursor), in cursor order. After a dropped
connection it reconnects, LISTENs again, then catches up with changes_since
from its last cursor. Events are deduplicated by cursor.

Any role of the database may NOTIFY on any channel, so a payload may be forged:
it only decides whether to call changes_since, and one that is not a JSON
object with a cursor (a number or a string of digits) is ignored.

Prints one line per event on stdout: "CURSOR EVENT FILE_ID VERSION". When the
events after its cursor were pruned (VC012), it prints "CURSOR resync - -" with
the feed's newest cursor: the files must be read again.
Usage: listener.py PROJECT_ID [LAST_CURSOR]
Connection: the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...).
"""
import json
import re
import select
import sys
import time

import psycopg2

RECONNECT_DELAY = 1.0  # seconds; a real application backs off further


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def payload_cursor(payload):
    """The cursor a notification's payload names, or None when it is not one of
    ours (any role may NOTIFY on the channel: the payload is only a hint)."""
    try:
        p = json.loads(payload)
    except ValueError:
        return None
    c = p.get("cursor") if isinstance(p, dict) else None
    # The cursor may be a JSON number or a string of digits.
    if isinstance(c, int) and not isinstance(c, bool) and c >= 0:
        return c
    if isinstance(c, str) and re.fullmatch(r"[0-9]{1,19}", c):
        return int(c)
    return None


class Listener:
    def __init__(self, project, last_cursor=0):
        self.project = project
        self.last = last_cursor  # the last cursor handled

    def connect(self):
        conn = psycopg2.connect("", application_name="ce-listener-python")
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT concurrent_edit.channel_name(%s)", (self.project,))
        channel = cur.fetchone()[0]
        # LISTEN first, then catch up: an event committed in between is both
        # notified and returned by changes_since, and the cursor dedupes it.
        cur.execute(f'LISTEN "{channel}"')
        cur.execute("SELECT pg_backend_pid()")
        log(f"listening on {channel} pid={cur.fetchone()[0]}")
        return conn

    def catch_up(self, conn):
        """Handles every event after the last cursor; returns how many."""
        cur = conn.cursor()
        try:
            cur.execute(
                "SELECT cursor, event, file_id, version FROM concurrent_edit.changes_since(%s, %s)",
                (self.project, self.last),
            )
        except psycopg2.DatabaseError as e:
            if e.pgcode != "VC012":
                raise
            # The events after our cursor were pruned (prune_changes): they cannot
            # be replayed. An application re-reads the files it shows here, then
            # goes on from the feed's newest cursor, which the DETAIL names.
            d = json.loads(e.diag.message_detail)
            log(f"events after {self.last} were pruned (through {d['pruned_through']}): "
                f"re-read the files, continuing after {d['last_cursor']}")
            print(f"{d['last_cursor']} resync - -", flush=True)
            self.last = int(d["last_cursor"])
            return self.catch_up(conn)
        n = 0
        for cursor, event, file_id, version in cur.fetchall():
            if cursor <= self.last:
                continue
            print(f"{cursor} {event} {file_id} {version}", flush=True)
            self.last = cursor
            n += 1
        return n

    def run(self):
        connections = 0
        while True:
            try:
                conn = self.connect()
                connections += 1
                log(f"connection {connections}: caught up {self.catch_up(conn)} events")
                self.listen(conn)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
                log(f"connection lost ({' '.join(str(e).split())}); reconnecting from cursor {self.last}")
                time.sleep(RECONNECT_DELAY)

    def listen(self, conn):
        while True:
            if select.select([conn], [], [], 5.0) == ([], [], []):
                continue
            conn.poll()
            newer = False
            while conn.notifies:
                cursor = payload_cursor(conn.notifies.pop(0).payload)
                if cursor is not None and cursor > self.last:
                    newer = True
            if newer:
                self.catch_up(conn)


if __name__ == "__main__":
    Listener(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0).run()
