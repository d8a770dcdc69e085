#!/usr/bin/env node
// A writer that keeps its edits when others write the same file.
//
// Each round reads the head, applies this writer's change (it sets its own line
// "NAME: ROUND" in the file, appending it if absent) and writes with the version
// it read as the base, strategy 'fail-fast', so that a concurrent write is
// reported instead of merged silently. On SQLSTATE VC001 (stale_version) it reads
// the JSON DETAIL (who wrote which version) and retries the same content on the
// same base with strategy 'merge': the server merges the two edits three ways. If
// the edits touch the same lines (status 'conflict'), it discards that conflict
// and re-applies its change on the new head.
//
// Usage: node writer.js FILE_ID AUTHOR_UUID NAME ROUNDS [THINK_MS]
// Connection: the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...).
'use strict';
const { Client } = require('pg');

const STALE_VERSION = 'VC001';

async function readHead(client, fileId) {
  const r = await client.query('SELECT content, version FROM concurrent_edit.read($1)', [fileId]);
  return r.rows[0];
}

// This writer's edit: its own line "name: value".
function applyChange(text, name, value) {
  const line = `${name}: ${value}`;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escaped}: .*$`, 'm');
  if (pattern.test(text)) return text.replace(pattern, line);
  return text + (text === '' || text.endsWith('\n') ? '' : '\n') + line + '\n';
}

async function write(client, fileId, content, base, author, strategy) {
  // An unnamed statement: no server-side prepared statement is kept, so this
  // also works through a transaction pooler.
  const r = await client.query(
    'SELECT status, version, conflict_id FROM concurrent_edit.write($1, $2, $3, $4, strategy => $5)',
    [fileId, content, base, author, strategy]);
  return r.rows[0];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const [fileId, author, name, roundsArg, thinkArg] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const think = Number(thinkArg || 0);
  const client = new Client({ application_name: `ce-writer-${name}` });
  await client.connect();
  for (let n = 1; n <= rounds; n++) {
    let { content, version: base } = await readHead(client, fileId);
    let ours = applyChange(content, name, n);
    await sleep(Math.random() * think); // the user "thinks"
    for (;;) {
      try {
        const w = await write(client, fileId, ours, base, author, 'fail-fast');
        console.log(`round ${n}: ${w.status} v${w.version} (base v${base})`);
        break;
      } catch (e) {
        if (e.code !== STALE_VERSION) throw e;
        const detail = JSON.parse(e.detail);
        console.log(`round ${n}: VC001 stale base v${detail.expected_version}, ` +
                    `head v${detail.current_version} by ${detail.last_modified_by}`);
      }
      const m = await write(client, fileId, ours, base, author, 'merge');
      if (['merged', 'written', 'unchanged'].includes(m.status)) {
        console.log(`round ${n}: ${m.status} v${m.version} (merge of base v${base})`);
        break;
      }
      // Both edits changed the same lines: drop the recorded conflict and redo
      // the edit on the current head.
      await client.query('SELECT concurrent_edit.discard_conflict($1, $2)',
                         [m.conflict_id, `${name} re-applies its change`]);
      ({ content, version: base } = await readHead(client, fileId));
      ours = applyChange(content, name, n);
      console.log(`round ${n}: conflict, re-applied on v${base}`);
    }
  }
  await client.end();
}

main().catch((e) => {
  console.error(`writer failed: ${e.code || ''} ${e.message}`);
  process.exit(1);
});
