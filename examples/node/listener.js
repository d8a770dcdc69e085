#!/usr/bin/env node
// Follows a project's change feed without missing or repeating an event.
//
// LISTENs on concurrent_edit.channel_name(project) on a direct connection (not
// through a transaction pooler), and keeps the last cursor it handled. A
// notification only says that something happened (its payload carries the
// event, its cursor and ids); the events themselves, with their details, come
// from changes_since(project, last_cursor), in cursor order. After a dropped
// connection it reconnects, LISTENs again, then catches up with changes_since
// from its last cursor. Events are deduplicated by cursor.
//
// Cursors are bigints: node-postgres returns the cursor column as a string, and
// a payload's cursor may be a JSON number or a string of digits; both go through
// BigInt().
//
// Any role of the database may NOTIFY on any channel, so a payload may be
// forged: it only decides whether to call changes_since, and one that is not a
// JSON object with a cursor (a number or a string of digits) is ignored.
//
// Prints one line per event on stdout: "CURSOR EVENT FILE_ID VERSION". When the
// events after its cursor were pruned (VC012), it prints "CURSOR resync - -" with
// the feed's newest cursor: the files must be read again.
// Usage: node listener.js PROJECT_ID [LAST_CURSOR]
// Connection: the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...).
'use strict';
const { Client } = require('pg');

const RECONNECT_DELAY_MS = 1000; // a real application backs off further

const log = (msg) => process.stderr.write(`${msg}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The cursor a notification's payload names (BigInt), or null when it is not one
// of ours (any role may NOTIFY on the channel: the payload is only a hint).
function payloadCursor(text) {
  let p;
  try { p = JSON.parse(text); } catch { return null; }
  const c = p !== null && typeof p === 'object' ? p.cursor : undefined;
  if (typeof c === 'number' && Number.isSafeInteger(c) && c >= 0) return BigInt(c);
  if (typeof c === 'string' && /^[0-9]{1,19}$/.test(c)) return BigInt(c);
  return null;
}

class Listener {
  constructor(project, lastCursor = 0n) {
    this.project = project;
    this.last = lastCursor; // the last cursor handled (BigInt)
    this.handled = 0; // events handled so far
    this.connections = 0;
  }

  // Handles every event after the last cursor; returns how many.
  async catchUp(client) {
    let r;
    try {
      r = await client.query(
        'SELECT cursor, event, file_id, version FROM concurrent_edit.changes_since($1, $2)',
        [this.project, this.last.toString()]);
    } catch (e) {
      if (e.code !== 'VC012') throw e;
      // The events after our cursor were pruned (prune_changes): they cannot be
      // replayed. An application re-reads the files it shows here, then goes on
      // from the feed's newest cursor, which the DETAIL names.
      const d = JSON.parse(e.detail);
      log(`events after ${this.last} were pruned (through ${d.pruned_through}): ` +
          `re-read the files, continuing after ${d.last_cursor}`);
      process.stdout.write(`${d.last_cursor} resync - -\n`);
      this.last = BigInt(d.last_cursor);
      return this.catchUp(client);
    }
    let n = 0;
    for (const row of r.rows) {
      const cursor = BigInt(row.cursor);
      if (cursor <= this.last) continue;
      process.stdout.write(`${cursor} ${row.event} ${row.file_id} ${row.version}\n`);
      this.last = cursor;
      this.handled++;
      n++;
    }
    return n;
  }

  // One connection's life: resolves when the connection is lost.
  async session() {
    const client = new Client({ application_name: 'ce-listener-node' });
    let lost;
    const closed = new Promise((resolve) => { lost = resolve; });
    client.on('error', (e) => lost(e));
    client.on('end', () => lost(new Error('connection ended')));
    // Notifications are handled one at a time, in order: while a catch-up runs,
    // newer notifications only mark that another one is needed.
    let pending = false;
    let running = null;
    const pump = async () => {
      while (pending) {
        pending = false;
        await this.catchUp(client);
      }
    };
    client.on('notification', (msg) => {
      const cursor = payloadCursor(msg.payload);
      if (cursor === null || cursor <= this.last) return; // not ours, or already handled
      pending = true;
      if (!running) {
        running = pump().catch((e) => lost(e)).finally(() => { running = null; });
      }
    });
    try {
      await client.connect();
      const ch = await client.query('SELECT concurrent_edit.channel_name($1) AS c, pg_backend_pid() AS pid',
                                    [this.project]);
      // LISTEN first, then catch up: an event committed in between is both
      // notified and returned by changes_since, and the cursor dedupes it.
      await client.query(`LISTEN "${ch.rows[0].c}"`);
      log(`listening on ${ch.rows[0].c} pid=${ch.rows[0].pid}`);
      this.connections++;
      const before = this.handled;
      pending = true;
      running = pump().catch((e) => lost(e)).finally(() => { running = null; });
      await running;
      log(`connection ${this.connections}: caught up ${this.handled - before} events`);
    } catch (e) {
      lost(e);
    }
    const why = await closed;
    if (running) await running.catch(() => {});
    client.end().catch(() => {});
    return why;
  }

  async run() {
    for (;;) {
      const e = await this.session();
      log(`connection lost (${e && e.message}); reconnecting from cursor ${this.last}`);
      await sleep(RECONNECT_DELAY_MS);
    }
  }
}

const [project, last] = process.argv.slice(2);
new Listener(project, BigInt(last || 0)).run();
