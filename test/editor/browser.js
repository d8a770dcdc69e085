#!/usr/bin/env node
// Drives the two-editor page of examples/editor in headless Chromium (the
// system's /usr/bin/chromium, through playwright-core: no browser download) and
// records what each step showed in a JSON file that test/t/070_editor_browser.pl
// asserts on. A step that waits for something that never shows fails here
// (exit 1, with the step named); screenshots go to SHOTS.
//
// Environment: GATEWAY (examples/editor/server.js), GATEWAY_PORT, PROJECT, FILE,
// GATEWAY_PGUSER (the gateway's role), the libpq environment for direct SQL
// (a superuser: it writes while the gateway is down), CHROMIUM, TMPDIR (where
// Chromium's profile goes: writable), SHOTS, RESULTS, SAVES (latency rounds,
// default 100).
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { Client } = require('pg');
const { chromium } = require('playwright-core');

const env = process.env;
const port = Number(env.GATEWAY_PORT);
const SAVES = Number(env.SAVES || 100);
const results = { steps: [] };
const log = (m) => process.stderr.write(`browser.js: ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let gateway = null;
let gatewayLog = '';   // everything the gateways wrote to stderr
function startGateway() {
  return new Promise((resolve, reject) => {
    const g = spawn('node', [env.GATEWAY], {
      env: { ...env, PORT: String(port), PGUSER: env.GATEWAY_PGUSER, DEMO_PROJECT: env.PROJECT, DEMO_FILE: env.FILE },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let err = '';
    g.stderr.on('data', (d) => {
      err += d; gatewayLog += d; process.stderr.write(`gateway: ${d}`);
      if (/gateway listening on/.test(err)) resolve(g);
    });
    g.on('exit', (code) => reject(new Error(`gateway exited (${code}): ${err}`)));
  });
}

async function main() {
  const db = new Client({ application_name: 'ce-browser-test' });
  await db.connect();
  gateway = await startGateway();
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => log(`console: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  const shot = async (name) => {
    const file = path.join(env.SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    results.steps.push(name);
  };
  // Waits for a condition in the page, naming the step when it times out.
  const until = async (what, fn, arg) => {
    try { await page.waitForFunction(fn, arg, { timeout: 10000, polling: 20 }); } catch (e) {
      await shot(`failed-${what.replace(/\W+/g, '-')}`).catch(() => {});
      throw new Error(`step "${what}": ${e.message.split('\n')[0]}`);
    }
  };
  const text = (who) => page.$eval(`#editor-${who} textarea`, (t) => t.value);
  const shown = (who, role) => page.$eval(`#editor-${who} [data-role="${role}"]`, (e) => e.textContent);
  const type = (who, value) => page.fill(`#editor-${who} textarea`, value);
  const click = (who, role) => page.click(`#editor-${who} [data-role="${role}"]`);
  // Holds the answers of the saves (/edit) of session `sid` until release():
  // `fetched` resolves once such a save was written and its answer is held.
  const holdSaves = async (sid) => {
    let fetchedNow; const fetched = new Promise((r) => { fetchedNow = r; });
    let release; const held = new Promise((r) => { release = r; });
    await page.route('**/api/v1/files/*/edit', async (route) => {
      if (!(route.request().postData() || '').includes(sid)) return route.continue();
      const response = await route.fetch();
      fetchedNow();
      await held;
      return route.fulfill({ response });
    });
    return { fetched, release };
  };

  await page.goto(`http://localhost:${port}/`);
  await until('both editors ready', () => document.body.dataset.ready === 'true');
  await until('presence shows the other', () =>
    /bob/.test(editors.alice.el.presence.textContent) && /alice/.test(editors.bob.el.presence.textContent));
  results.presence = { alice: await shown('alice', 'presence'), bob: await shown('bob', 'presence') };
  results.initial = { alice: await text('alice'), bob: await text('bob') };
  await shot('01-two-editors');

  // 1. A types and saves; B shows it without a reload.
  const t1 = 'Title by alice\nline two\nline three\nline four\n';
  await type('alice', t1);
  await click('alice', 'save');
  await until('B shows A\'s save', (t) => editors.bob.el.text.value === t, t1);
  results.live = { bobText: await text('bob'), bobVersion: await shown('bob', 'version'),
                   aliceStatus: await page.evaluate(() => editors.alice.lastSave.status),
                   bobSync: await shown('bob', 'sync') };
  await shot('02-live-update');

  // 2. B edits line 4 and waits: its autosaved draft shows in A's presence.
  // A edits line 2 and saves; B, now behind, saves from its stale base: clean merge.
  await type('bob', t1.replace('line four', 'line four, by bob'));
  await until('A sees B\'s draft', () => /bob \(active, unsaved draft of v2/.test(editors.alice.el.presence.textContent));
  results.draft = { alicePresence: await shown('alice', 'presence') };
  await shot('03-draft-presence');
  await type('alice', t1.replace('line two', 'line two, by alice'));
  await click('alice', 'save');
  await until('B is behind', () => /newer/.test(editors.bob.el.sync.textContent));
  results.behind = { bobSync: await shown('bob', 'sync'), bobVersion: await shown('bob', 'version') };
  await click('bob', 'save');
  await until('B merged', () => editors.bob.lastSave && editors.bob.lastSave.body.status === 'merged');
  await until('A shows the merge', () => editors.alice.el.text.value === editors.bob.el.text.value);
  results.merge = { bobText: await text('bob'), aliceText: await text('alice'),
                    status: await page.evaluate(() => editors.bob.lastSave.status) };
  await shot('04-clean-merge');

  // 3. Both edit the title line; A saves first; B's save from the stale base conflicts.
  const base3 = await text('bob');
  await type('bob', base3.replace(/^.*\n/, 'Title by bob\n'));
  await type('alice', base3.replace(/^.*\n/, 'Title, alice again\n'));
  await click('alice', 'save');
  await until('B is behind before the conflict', () => /newer/.test(editors.bob.el.sync.textContent));
  await click('bob', 'save');
  await until('B shows the conflict', () => !editors.bob.el.conflict.hidden);
  results.conflict = { status: await page.evaluate(() => editors.bob.lastSave.status),
                       body: await page.evaluate(() => editors.bob.lastSave.body),
                       bobText: await text('bob'), message: await shown('bob', 'message') };
  await shot('05-conflict');
  await click('bob', 'theirs');
  await until('B resolved', () => editors.bob.conflictId === null && editors.bob.el.conflict.hidden);
  await until('A shows the resolution', (t) => editors.alice.el.text.value.startsWith(t), 'Title by bob\n');
  results.resolved = { bobText: await text('bob'), aliceText: await text('alice'),
                       bobVersion: await shown('bob', 'version'), aliceVersion: await shown('alice', 'version'),
                       message: await shown('bob', 'message') };
  await shot('06-resolved');

  // 3b. Another conflict on line 3, resolved with the text as B edits it.
  const base3b = await text('bob');
  await type('bob', base3b.replace('line three', 'line three, by bob'));
  await type('alice', base3b.replace('line three', 'line three, by alice'));
  await click('alice', 'save');
  await until('B is behind before the second conflict', () => /newer/.test(editors.bob.el.sync.textContent));
  await click('bob', 'save');
  await until('B shows the second conflict', () => !editors.bob.el.conflict.hidden);
  results.conflict2 = { bobText: await text('bob') };
  await type('bob', base3b.replace('line three', 'line three, by alice and bob'));
  await click('bob', 'edited');
  await until('A shows the edited resolution', (t) => editors.alice.el.text.value === t,
              base3b.replace('line three', 'line three, by alice and bob'));
  results.resolvedEdited = { aliceText: await text('alice'), bobText: await text('bob'),
                             message: await shown('bob', 'message') };
  await shot('06b-resolved-edited');

  // 4. A locks; B's save is refused with A's name; A unlocks.
  await click('alice', 'lock-btn');
  await until('B sees the lock', () => /Locked by alice/.test(editors.bob.el.lock.textContent));
  results.lockShown = await shown('bob', 'lock');
  await type('bob', (await text('bob')) + 'bob tries while locked\n');
  await click('bob', 'save');
  await until('B refused', () => editors.bob.lastSave && editors.bob.lastSave.status === 423);
  results.locked = { status: await page.evaluate(() => editors.bob.lastSave.status),
                     body: await page.evaluate(() => editors.bob.lastSave.body),
                     message: await shown('bob', 'message'),
                     bobLock: await page.evaluate(async () => {
                       const r = await editors.bob.lock(); return { status: r.status, body: r.body };
                     }) };
  await shot('07-lock-refused');
  await click('alice', 'unlock-btn');
  await until('B sees the unlock', () => editors.bob.el.lock.textContent === '');
  await click('bob', 'save');
  await until('B saves after the unlock', () => editors.bob.lastSave.status === 200);
  results.afterUnlock = { status: await page.evaluate(() => editors.bob.lastSave.status),
                          version: await shown('bob', 'version') };

  // 5. History with a diff.
  await click('alice', 'history-btn');
  await until('A shows a diff', () => /^\+/m.test(editors.alice.el.diff.textContent));
  results.history = { versions: await page.$$eval('#editor-alice [data-role="versions"] li', (l) => l.length),
                      diff: await shown('alice', 'diff') };
  await shot('08-history');

  // 6. The gateway dies; a change is written while B is away; B reconnects and
  // catches up from its cursor.
  await until('A is in sync', () => editors.alice.el.text.value === editors.bob.el.text.value);
  const before = await page.evaluate(() => ({ cursor: editors.bob.cursor, reconnects: editors.bob.reconnects,
                                               version: editors.bob.version }));
  gateway.removeAllListeners('exit');
  const died = new Promise((r) => gateway.on('exit', r));
  gateway.kill('SIGKILL');
  await died;
  await until('B shows offline', () => /offline/.test(editors.bob.el.sync.textContent));
  results.offlineSync = await shown('bob', 'sync');
  await shot('09-offline');
  const away = 'Written while the gateway was down\n';
  const w = await db.query(`SELECT version FROM concurrent_edit.write($1, $2, $3,
                              '00000000-0000-0000-0000-0000000000c0')`, [env.FILE, away, before.version]);
  await sleep(300);
  gateway = await startGateway();
  await until('B caught up', (t) => editors.bob.el.text.value === t && editors.bob.reconnects > 0, away);
  await until('A caught up', (t) => editors.alice.el.text.value === t, away);
  const pos = await db.query('SELECT concurrent_edit.feed_position($1) AS p', [env.PROJECT]);
  results.reconnect = { before, written: w.rows[0].version, feedPosition: pos.rows[0].p,
    after: await page.evaluate(() => ({ cursor: editors.bob.cursor, reconnects: editors.bob.reconnects,
                                        caughtUp: editors.bob.lastCatchUp, version: editors.bob.version })),
    bobText: await text('bob'), bobSync: await shown('bob', 'sync') };
  await shot('10-reconnected');

  // 6b. The events the gateway has not read yet are pruned: its listening
  // connection is cut, a version is written and its event sequenced, and the feed
  // pruned through it (prune_changes) before the gateway reconnects (500 ms).
  // The gateway's catch-up meets VC012: it goes on from the newest cursor and the
  // tabs re-read the file. Before, every later fetch failed with VC012 and no tab
  // got an event again (the latency rounds below need them).
  await until('A and B in sync before the prune', () => editors.alice.el.text.value === editors.bob.el.text.value
              && editors.alice.version === editors.bob.version);
  const logBefore = gatewayLog.length;
  const pruned = 'Its event was pruned before the gateway read it\n';
  const ver = await page.evaluate(() => editors.bob.version);
  const pos0 = (await db.query('SELECT concurrent_edit.feed_position($1) AS p', [env.PROJECT])).rows[0].p;
  await db.query(`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                   WHERE application_name = 'ce-editor-listen' AND usename = $1`, [env.GATEWAY_PGUSER]);
  const pw = await db.query(`SELECT version FROM concurrent_edit.write($1, $2, $3,
                               '00000000-0000-0000-0000-0000000000c0')`, [env.FILE, pruned, ver]);
  for (let i = 0; i < 100; i++) {  // the event sequenced (by the commit, or the worker just after)
    const p = await db.query('SELECT concurrent_edit.feed_position($1) AS p', [env.PROJECT]);
    if (BigInt(p.rows[0].p) > BigInt(pos0)) break;
    await sleep(5);
  }
  await db.query("SELECT concurrent_edit.prune_changes('0 seconds', $1)", [env.PROJECT]);
  await until('B shows the version whose event was pruned', (t) => editors.bob.el.text.value === t, pruned);
  await until('A too', (t) => editors.alice.el.text.value === t, pruned);
  results.pruned = { written: pw.rows[0].version,
    versions: await page.evaluate(() => [editors.alice.version, editors.bob.version]),
    reset: /pruned past the gateway's cursor/.test(gatewayLog.slice(logBefore)) };

  // 6c. A's save is written, then B's (a newer version) while A's answer is still
  // on its way: A gets B's event first (only "behind": A's text is unsaved), then
  // its own answer with the older version. A must end showing the head, not its
  // own older version as "saved, up to date". A's answer is held by the page's
  // network route until A has B's event.
  const aSid = await page.evaluate(() => editors.alice.sessionId);
  const holdA = await holdSaves(aSid);
  const base6c = await text('alice');
  const v6c = await page.evaluate(() => editors.alice.version);
  await type('alice', `A's line, saved first\n${base6c}`);
  const aSave = page.evaluate(() => editors.alice.save());
  await holdA.fetched;
  await until('B shows A\'s save', (v) => editors.bob.version === v, v6c + 1);
  await type('bob', `${await text('bob')}B's line, saved second\n`);
  await click('bob', 'save');
  await until('A has B\'s event while its save is on its way', (v) => editors.alice.headVersion === v, v6c + 2);
  holdA.release();
  await aSave;
  await page.unroute('**/api/v1/files/*/edit');
  // A shows the head (both lines) once it has read it; it is given 3 s.
  await page.waitForFunction((v) => editors.alice.version === v, v6c + 2, { timeout: 3000, polling: 20 }).catch(() => {});
  results.concurrentSave = { aliceVersion: await page.evaluate(() => editors.alice.version), bobVersion: await page.evaluate(() => editors.bob.version),
                             aliceText: await text('alice'), bobText: await text('bob'), aliceSync: await shown('alice', 'sync'),
                             aliceSaved: await page.evaluate(() => editors.alice.lastSave.body.version), expected: v6c + 2 };
  await shot('10b-concurrent-save');

  // 6d. A types while its save is on its way (its answer held until then): the
  // typing stays, on the saved version as the base, unsaved. Before, the answer's
  // text replaced the textarea and the page said "saved, up to date".
  await until('A and B in sync before the typing', () => editors.alice.el.text.value === editors.bob.el.text.value
              && editors.alice.version === editors.bob.version);
  const holdD = await holdSaves(aSid);
  const base6d = await text('alice');
  const v6d = await page.evaluate(() => editors.alice.version);
  const saved6d = `Typed before the save\n${base6d}`;
  await type('alice', saved6d);
  const dSave = page.evaluate(() => editors.alice.save().then((r) => r.status));
  await holdD.fetched;
  await type('alice', `${saved6d}Typed while the save was on its way\n`);
  holdD.release();
  const dStatus = await dSave;
  await page.unroute('**/api/v1/files/*/edit');
  await until('B shows the saved text', (t) => editors.bob.el.text.value === t, saved6d);
  results.lostTyping = { status: dStatus, expectedVersion: v6d + 1, aliceText: await text('alice'),
                         aliceVersion: await page.evaluate(() => editors.alice.version),
                         aliceSync: await shown('alice', 'sync'), bobText: await text('bob') };
  await click('alice', 'save');
  await until('B shows the typing', (t) => editors.bob.el.text.value === t, `${saved6d}Typed while the save was on its way\n`);
  results.lostTyping.after = { aliceSync: await shown('alice', 'sync'), bobText: await text('bob') };
  await shot('10c-typing-kept');

  // 6e. B's session is closed underneath (VC005): B's next save opens a new
  // session and goes through, and B's socket follows with the new session.
  const oldSid = await page.evaluate(() => editors.bob.sessionId);
  await db.query('SELECT concurrent_edit.close_session($1)', [oldSid]);
  await type('bob', `${await text('bob')}Saved after the session was closed\n`);
  const eStatus = await page.evaluate(() => editors.bob.save().then((r) => r.status));
  await until('A shows the save of the new session', (t) => editors.alice.el.text.value.endsWith(t),
              'Saved after the session was closed\n');
  await until('B follows the feed again', () => editors.bob.ws.readyState === 1 && editors.bob.el.sync.textContent === 'saved, up to date');
  results.renewed = { status: eStatus, oldSid, newSid: await page.evaluate(() => editors.bob.sessionId),
                      open: (await db.query(`SELECT status FROM concurrent_edit.edit_sessions WHERE id = $1`,
                        [await page.evaluate(() => editors.bob.sessionId)])).rows.map((r) => r.status).join() };
  await until('A in sync before the latency rounds', () => editors.alice.el.text.value === editors.bob.el.text.value);

  // 7. Latency: A saves SAVES times; the time from the start of A's save to B's
  // editor showing the text (B's 'ce-applied' event), in one page, one clock.
  results.latency = await page.evaluate(async (n) => {
    const a = editors.alice; const b = editors.bob;
    const ms = []; const saveMs = [];  // to B's screen; A's save request alone
    for (let i = 0; i < n; i++) {
      const want = a.version + 1;
      const shownInB = new Promise((resolve) => {
        const on = (ev) => { if (ev.detail.version >= want) { b.root.removeEventListener('ce-applied', on); resolve(ev.detail.at); } };
        b.root.addEventListener('ce-applied', on);
      });
      a.el.text.value = `Latency round ${i}\n${a.baseText}`.split('\n').slice(0, 6).join('\n');
      const t0 = performance.now();
      const r = await a.save();
      saveMs.push(performance.now() - t0);
      if (r.status !== 200) return { error: `save ${i}: ${r.status}` };
      const at = await Promise.race([shownInB, new Promise((res) => setTimeout(() => res(null), 5000))]);
      if (at === null) return { error: `round ${i}: B did not show version ${want}` };
      if (b.el.text.value !== a.el.text.value) return { error: `round ${i}: B shows other text` };
      ms.push(at - t0);
    }
    return { ms, saveMs };
  }, SAVES);
  if (results.latency.ms) {
    const sorted = (a) => [...a].sort((x, y) => x - y);
    const pct = (s, p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
    const s = sorted(results.latency.ms); const w = sorted(results.latency.saveMs);
    Object.assign(results.latency, { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1],
                                     saveP50: pct(w, 50), saveP99: pct(w, 99) });
    log(`latency over ${s.length} saves: p50 ${pct(s, 50).toFixed(1)} ms, p99 ${pct(s, 99).toFixed(1)} ms`
        + ` (A's save request alone: p50 ${pct(w, 50).toFixed(1)} ms, p99 ${pct(w, 99).toFixed(1)} ms)`);
  }
  await shot('11-after-latency');

  await browser.close();
  await db.end();
}

main().then(() => {
  fs.writeFileSync(env.RESULTS, JSON.stringify(results, null, 1));
  if (gateway) gateway.kill();
  process.exit(0);
}, (e) => {
  log(`FAILED: ${e.stack}`);
  results.error = e.message;
  fs.writeFileSync(env.RESULTS, JSON.stringify(results, null, 1));
  if (gateway) gateway.kill();
  process.exit(1);
});
