#!/usr/bin/python3
"""A writer that keeps its edits when others write the same file.

Each round reads the head, applies this writer's change (it sets its own line
"NAME: ROUND" in the file, appending it if absent) and writes with the version
it read as the base, strategy 'fail-fast', so that a concurrent write is
reported instead of merged silently. On SQLSTATE VC001 (stale_version) it reads
the JSON DETAIL (who wrote which version) and retries the same content on the
same base with strategy 'merge': the server merges the two edits three ways. If
the edits touch the same lines (status 'conflict'), it discards that conflict
and re-applies its change on the new head.

Usage: writer.py FILE_ID AUTHOR_UUID NAME ROUNDS [THINK_MS]
Connection: the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...).
"""
import json
import random
import re
import sys
import time

import psycopg2

STALE_VERSION = "VC001"


def read_head(cur, file_id):
    cur.execute("SELECT content, version FROM concurrent_edit.read(%s)", (file_id,))
    return cur.fetchone()


def apply_change(text, name, value):
    """This writer's edit: its own line "name: value"."""
    line = f"{name}: {value}"
    pattern = re.compile(rf"^{re.escape(name)}: .*$", re.M)
    if pattern.search(text):
        return pattern.sub(line, text, count=1)
    return text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"


def write(cur, file_id, content, base, author, strategy):
    cur.execute(
        "SELECT status, version, conflict_id FROM concurrent_edit.write("
        "%s, %s, %s, %s, strategy => %s)",
        (file_id, content, base, author, strategy),
    )
    return cur.fetchone()


def main():
    file_id, author, name, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    think = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    conn = psycopg2.connect("", application_name=f"ce-writer-{name}")
    conn.autocommit = True  # every API call is its own transaction
    cur = conn.cursor()
    for n in range(1, rounds + 1):
        content, base = read_head(cur, file_id)
        ours = apply_change(content, name, n)
        time.sleep(random.uniform(0, think) / 1000.0)  # the user "thinks"
        while True:
            try:
                status, version, _ = write(cur, file_id, ours, base, author, "fail-fast")
                print(f"round {n}: {status} v{version} (base v{base})", flush=True)
                break
            except psycopg2.Error as e:
                if e.pgcode != STALE_VERSION:
                    raise
                detail = json.loads(e.diag.message_detail)
                print(f"round {n}: VC001 stale base v{detail['expected_version']}, "
                      f"head v{detail['current_version']} by {detail['last_modified_by']}",
                      flush=True)
            status, version, conflict_id = write(cur, file_id, ours, base, author, "merge")
            if status in ("merged", "written", "unchanged"):
                print(f"round {n}: {status} v{version} (merge of base v{base})", flush=True)
                break
            # Both edits changed the same lines: drop the recorded conflict and
            # redo the edit on the current head.
            cur.execute("SELECT concurrent_edit.discard_conflict(%s, %s)",
                        (conflict_id, f"{name} re-applies its change"))
            content, base = read_head(cur, file_id)
            ours = apply_change(content, name, n)
            print(f"round {n}: conflict, re-applied on v{base}", flush=True)
    conn.close()


if __name__ == "__main__":
    main()
