#!/usr/bin/env node
// A small gateway between browsers and the concurrent_edit extension: a REST
// surface for the editing calls and one WebSocket per browser tab for live
// events (live.js). Everything that matters (versions, merges, conflicts, locks,
// sessions, drafts, the change feed) is done by the extension in SQL; this file
// only translates. Design notes: README.md next to this file.
//
// Connection: the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...),
// as an ordinary role with `write` on the projects it serves. The one LISTEN
// connection must be direct (not through a transaction pooler): set
// LISTEN_PGHOST/LISTEN_PGPORT when the pool goes through a pooler.
// Usage: PORT=8080 node server.js
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Pool } = require('pg');
const live = require('./live');

const PORT = Number(process.env.PORT || 8080);
const HOST = process.env.HOST || '127.0.0.1';
const MAX_BODY = 1 << 20;            // bytes of a request body (413 above)
const list = (v) => (v || '').split(',').map((o) => o.trim().toLowerCase()).filter(Boolean);
// Pages of other origins may not call the gateway (a browser names its page's
// origin in Origin): only the gateway's own and these (comma-separated).
const ALLOWED_ORIGINS = new Set(list(process.env.ALLOWED_ORIGINS));
// The names the gateway answers to (the Host header, checked on every request and
// socket: a DNS-rebound page sends its own name): the address it listens on, the
// localhost forms, and EDITOR_ALLOWED_HOSTS (comma-separated, `name` or `name:port`).
const ALLOWED_HOSTS = new Set(list(process.env.EDITOR_ALLOWED_HOSTS));
for (const h of new Set([HOST, 'localhost', '127.0.0.1', '[::1]'])) {
  ALLOWED_HOSTS.add(`${h}:${PORT}`);
  if (PORT === 80) ALLOWED_HOSTS.add(h);
}
// The projects the gateway serves: EDITOR_PROJECTS (comma-separated), else the
// demo's. A session of any other project is refused, whatever the role may write.
const PROJECTS = new Set(list(process.env.EDITOR_PROJECTS || process.env.DEMO_PROJECT));
const PUBLIC = path.join(__dirname, 'public');
const log = (msg) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A pool for the API calls: short statements, one connection each, any of them.
// A call waits 5 s at most for a connection (503 then), not for ever.
const pool = new Pool({ max: Number(process.env.POOL_SIZE || 8), application_name: 'ce-editor-api',
                        connectionTimeoutMillis: 5000 });
pool.on('error', (e) => log(`pool: ${e.message}`));
// A serialization failure or a deadlock rolled the statement back: it is run
// again (twice at most) before the client gets its 503.
const RETRY = new Set(['40001', '40P01']);
async function retrying(fn) {
  for (let i = 0; ; i++) {
    try { return await fn(); } catch (e) {
      if (i >= 2 || !RETRY.has(e.code)) throw e;
      await sleep(10 * (i + 1) + Math.random() * 20);
    }
  }
}
const q = (sql, params) => retrying(() => pool.query(sql, params));

// ---------------------------------------------------------------------------
// SQLSTATE -> HTTP status. The DETAIL of every refusal is JSON (docs/errors.md).
const HTTP_STATUS = {
  VC001: 409, // stale_version (with strategy merge a conflict is a result, see /edit)
  VC002: 410, // file_deleted
  VC004: 423, // file_locked: another session's exclusive lock refuses the write
  '55P03': 423, // lock_not_available: acquire_lock found the file locked
  VC005: 401, // session_invalid: unknown, closed or timed out: open a new session
  VC006: 410, // version_not_found: never existed or removed by history retention
  VC007: 404, // file_not_found
  VC008: 409, // conflict_not_open: already resolved or discarded
  VC013: 409, // lock_not_held
  VC014: 404, // draft_not_found
  42501: 403, // insufficient_privilege
  22023: 400, 22004: 400, '22P02': 400, 22032: 400, // bad arguments
  54000: 413, // program_limit_exceeded (content over max_input_size)
  40001: 503, // serialization_failure: retried by the gateway, then the client's to retry
  '40P01': 503, // deadlock_detected: the same
};

class HttpError extends Error {
  constructor(status, body) { super(body.error); this.status = status; this.body = body; }
}

function parseDetail(detail) {
  if (!detail) return null;
  try { return JSON.parse(detail); } catch { return detail; }
}

// A database error as {status, body}: the SQLSTATE and the DETAIL parsed as JSON.
function fromPgError(e) {
  if (e instanceof HttpError) return e;
  if (/timeout exceeded when trying to connect/.test(e.message)) {
    return new HttpError(503, { error: 'the database is busy: retry' });
  }
  if (!e.code) { log(`internal: ${e.stack}`); return new HttpError(500, { error: 'internal error' }); }
  const body = { error: e.message, sqlstate: e.code, detail: parseDetail(e.detail) };
  if (e.hint) body.hint = e.hint;
  return new HttpError(HTTP_STATUS[e.code] || (e.code.startsWith('22') ? 400 : 500), body);
}

// Every request and socket must name one of ALLOWED_HOSTS as its Host: a page
// whose name was rebound to this address sends its own name. Its Origin, when a
// browser sends one, must be one of ALLOWED_ORIGINS or an http(s) origin whose host
// is one of ALLOWED_HOSTS (never just "the Host it was asked by": that is the
// attacker's). Without Origin it is not a browser's cross-origin call (curl, a
// same-origin GET).
const hostAllowed = (req) => ALLOWED_HOSTS.has(String(req.headers.host || '').toLowerCase());
function originAllowed(req) {
  const o = req.headers.origin;
  if (o === undefined || ALLOWED_ORIGINS.has(o.toLowerCase())) return true;
  try {
    const u = new URL(o);
    return (u.protocol === 'http:' || u.protocol === 'https:') && ALLOWED_HOSTS.has(u.host);
  } catch { return false; }
}

// ---------------------------------------------------------------------------
// Who is who. The demo has no login: a tab names its user, whose id is derived
// from the name; the name travels in the session's metadata, so every gateway
// (and project_sessions()) can show it. A real application takes the user from
// its authentication instead.
function userIdOf(name) {
  const h = crypto.createHash('sha1').update(`concurrent_edit demo user:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
// Display names of sessions and users: a cache, emptied when it grows past
// 10,000 entries (it is filled again from project_sessions()).
const names = new Map();          // session id or user id -> display name
function remember(id, name) {
  if (names.size >= 10000) names.clear();
  names.set(id, name);
}
async function loadNames(projectId) {
  const r = await q(`SELECT session_id, user_id, metadata->>'name' AS name
                       FROM concurrent_edit.project_sessions($1)`, [projectId]);
  for (const s of r.rows) {
    if (!s.name) continue;
    remember(s.session_id, s.name);
    remember(s.user_id, s.name);
  }
}
// The name shown for a session or user id: its display name, else the id's start.
const shownName = (id) => names.get(id) || (id ? String(id).slice(0, 8) : null);
async function nameOf(id, projectId) {
  if (id && !names.has(id) && projectId) await loadNames(projectId);
  return shownName(id);
}

// A session id is public (presence, lock holders, history and the feed name it),
// so it is no key. The tab that opens a session gets a random secret with it,
// which every request (header x-session-token) and socket (subprotocol ce.token.) naming the
// session must present. The gateway keeps its SHA-256 here and in the session's
// metadata (token_sha256: useless to whoever reads it), so a restarted gateway, or
// another one of the same role, still knows it.
// sessions: session id -> {hash, projectId, sockets (Set), seen (ms), opened (by
// this gateway)}, for the sessions it serves; dropped after inactivity (below).
const sessions = new Map();
const sha256 = (v) => crypto.createHash('sha256').update(v).digest();
const unauthorized = (error, sid) => new HttpError(401, { error, sqlstate: 'VC005', detail: { session_id: sid } });

// The session's entry, once its token is checked: 401 without a token or for a
// session this gateway does not know (closed, or never its), 403 for a wrong one.
async function checkToken(sid, token) {
  if (typeof token !== 'string' || !token) throw new HttpError(401, { error: 'x-session-token is required' });
  let s = sessions.get(sid);
  if (!s) {
    const r = await q(`SELECT s.metadata->>'token_sha256' AS hash, p AS project_id, s.metadata->>'name' AS name
                         FROM concurrent_edit.owning_project('session', $1) p,
                              concurrent_edit.project_sessions(p) s
                        WHERE s.session_id = $1 AND s.status <> 'closed'`, [sid])
      .catch((e) => { if (e.code) return { rows: [] }; throw e; }); // a refusal: unknown here (not an outage)
    const row = r.rows[0];
    if (!row || !row.hash || !PROJECTS.has(row.project_id)) throw unauthorized('session closed or unknown: open a new one', sid);
    s = sessions.get(sid) || { hash: Buffer.from(row.hash, 'hex'), projectId: row.project_id, sockets: new Set(), seen: 0 };
    sessions.set(sid, s);
    if (row.name) remember(sid, row.name);
  }
  if (!crypto.timingSafeEqual(sha256(token), s.hash)) {
    throw new HttpError(403, { error: 'wrong session token', detail: { session_id: sid } });
  }
  s.seen = Date.now();
  return s;
}

// Sessions with no socket and no request for SESSION_IDLE_MS (default 2 min) are
// forgotten, and closed if this gateway opened them (their drafts are kept: a tab
// that comes back gets 401, opens a new session and saves its text again). The
// extension closes the others after its own timeouts.
const SESSION_IDLE_MS = Number(process.env.SESSION_IDLE_MS || 120000);
setInterval(async () => {
  const now = Date.now();
  for (const [sid, s] of sessions) {
    if (s.sockets.size || now - s.seen < SESSION_IDLE_MS) continue;
    sessions.delete(sid);
    names.delete(sid);
    if (s.opened) await q('SELECT concurrent_edit.close_session($1)', [sid]).catch((e) => log(`close_session: ${e.message}`));
  }
}, Math.min(SESSION_IDLE_MS, 30000)).unref();

// ---------------------------------------------------------------------------
// REST handlers: (params, body, query) -> [status, json]. SQL takes parameters only.
const must = (v, what) => {
  if (v === undefined || v === null || v === '') throw new HttpError(400, { error: `${what} is required` });
  return v;
};
const isUuid = (v) => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
const forbidden = (error, detail) => new HttpError(403, { error, sqlstate: '42501', detail });

// Every file request names its session (sessionId in the body, or the query of a
// GET or DELETE), which must be alive and the gateway role's (touch_session:
// VC005 -> 401, another role's 42501 -> 403) and of the file's project
// (owning_project; 403 otherwise): a tab of one project reads and writes no other.
// A file the role cannot see has no project here: read() says why (VC007, 42501).
async function authorize(p, b, query, headers) {
  const sid = String(must(b.sessionId ?? query.get('sessionId'), 'sessionId')).toLowerCase();
  if (!isUuid(sid)) throw new HttpError(400, { error: 'sessionId must be a uuid' });
  await checkToken(sid, headers['x-session-token']);
  const r = await q(`SELECT concurrent_edit.touch_session($1) AS status,
                            concurrent_edit.owning_project('session', $1) AS session_project,
                            concurrent_edit.owning_project('file', $2) AS file_project`, [sid, p.fileId]);
  const { session_project: projectId, file_project: fileProject } = r.rows[0];
  if (fileProject === null) await q('SELECT 1 FROM concurrent_edit.read($1)', [p.fileId]);
  if (fileProject !== projectId) {
    throw forbidden('the file is not of the session\'s project', { session_id: sid, file_id: p.fileId, project_id: projectId });
  }
  return { sid, projectId };
}
// A file route's handler gets the checked session as a fourth argument.
const file = (fn) => async (p, b, query, headers) => fn(p, b, query, await authorize(p, b, query, headers));

// The text and base version of /edit and /draft: a string and a version number.
function textAndBase(b) {
  if (typeof b.content !== 'string') throw new HttpError(400, { error: 'content must be a string' });
  if (!Number.isInteger(b.baseVersion) || b.baseVersion < 1) {
    throw new HttpError(400, { error: 'baseVersion must be a version number' });
  }
  return [b.content, b.baseVersion];
}

async function openSession(_p, b) {
  const name = String(must(b.name, 'name')).slice(0, 64);
  if (!isUuid(b.projectId)) throw new HttpError(400, { error: 'projectId must be a uuid' });
  const projectId = b.projectId.toLowerCase();
  if (!PROJECTS.has(projectId)) {
    throw forbidden('the gateway does not serve this project', { project_id: projectId });
  }
  const userId = userIdOf(name);
  const token = crypto.randomBytes(32).toString('base64url');
  const hash = sha256(token);
  const r = await q('SELECT concurrent_edit.open_session($1, $2, NULL, $3) AS id',
                    [userId, projectId, JSON.stringify({ name, token_sha256: hash.toString('hex') })]);
  const sessionId = r.rows[0].id;
  sessions.set(sessionId, { hash, projectId, sockets: new Set(), seen: Date.now(), opened: true });
  remember(sessionId, name); remember(userId, name);
  // The token is given once, to this tab: it is no part of any other answer.
  return [200, { sessionId, token, userId, name, projectId }];
}

async function readFile(p) {
  const r = await q(`SELECT content, version, content_hash, path, deleted_at
                       FROM concurrent_edit.read($1)`, [p.fileId]);
  const f = r.rows[0];
  return [200, { fileId: p.fileId, path: f.path, version: f.version, content: f.content,
                 contentHash: f.content_hash, deletedAt: f.deleted_at }];
}

async function openFile(p, _b, _query, { sid, projectId }) {
  const r = await q(`SELECT kind, message, session_id, user_id, until
                       FROM concurrent_edit.open_file($1, $2)`, [sid, p.fileId]);
  const warnings = [];
  for (const w of r.rows) {
    warnings.push({ kind: w.kind, message: w.message, sessionId: w.session_id,
                    name: await nameOf(w.session_id || w.user_id, projectId), until: w.until });
  }
  return [200, { warnings }];
}

// Who else has the file open, their drafts (not their text: base version, size,
// time) and the locks, with names: one query for the editors and their drafts, one
// for the locks. file_editors says whether a session has a draft; its details are
// read (session_drafts) only for the sessions of this gateway's role it knows.
async function presence(p, _b, _query, { projectId }) {
  const own = [...sessions.keys()];
  const ed = await q(`SELECT e.session_id, e.status, e.has_draft, e.lock_type, e.last_active_at,
                             CASE WHEN e.has_draft AND e.session_id = ANY($2::uuid[]) THEN
                               (SELECT to_jsonb(d) FROM concurrent_edit.session_drafts(e.session_id) d
                                 WHERE d.file_id = $1) END AS draft
                        FROM concurrent_edit.file_editors($1) e`, [p.fileId, own]);
  const lk = await q(`SELECT session_id, holder, lock_type, expires_at
                        FROM concurrent_edit.lock_status($1)`, [p.fileId]);
  // Names: project_sessions() once, if any session is not known yet.
  if ([...ed.rows, ...lk.rows].some((r) => r.session_id && !names.has(r.session_id))) {
    await loadNames(projectId).catch(() => {});
  }
  const editors = ed.rows.map((e) => ({
    sessionId: e.session_id, name: shownName(e.session_id), status: e.status,
    lockType: e.lock_type, lastActiveAt: e.last_active_at,
    draft: !e.has_draft ? null : e.draft ? { baseVersion: e.draft.base_version, headVersion: e.draft.head_version,
      bytes: Number(e.draft.bytes), updatedAt: e.draft.updated_at } : {},
  }));
  const locks = lk.rows.map((l) => ({ sessionId: l.session_id, name: shownName(l.session_id),
                                      lockType: l.lock_type, expiresAt: l.expires_at }));
  return [200, { editors, locks }];
}

// POST /edit: 200 when written or merged, 409 with the marked-up text when
// the three-way merge from baseVersion has real conflicts (nothing is written
// then; the conflict is recorded and can be resolved).
async function edit(p, b, _query, { sid }) {
  const [content, baseVersion] = textAndBase(b);
  const r = await q(`SELECT status, version, content_hash, content, conflict_id, conflicts, base_version, head_version
                       FROM concurrent_edit.write($1, $2, $3, NULL, $4, 'merge')`,
                    [p.fileId, content, baseVersion, sid]);
  const w = r.rows[0];
  if (w.status !== 'conflict') {
    // The saved text replaces the tab's autosaved draft, if it had one.
    if (b.discardDraft) await q('SELECT concurrent_edit.discard_draft($1, $2)', [sid, p.fileId]);
    return [200, { status: w.status, version: w.version, content: w.content, contentHash: w.content_hash }];
  }
  const hunks = await q(`SELECT hunk, base_text, ours_text, theirs_text
                           FROM concurrent_edit.conflict_hunks($1)`, [w.conflict_id]);
  return [409, {
    error: `version ${w.base_version} is stale (head is version ${w.head_version}) and the merge has conflicts`,
    sqlstate: 'VC001',
    detail: { file_id: p.fileId, expected_version: w.base_version, current_version: w.head_version,
              conflict_id: w.conflict_id },
    conflictId: w.conflict_id, content: w.content, headVersion: w.head_version, hunks: hunks.rows,
  }];
}

async function saveDraft(p, b, _query, { sid }) {
  const [content, baseVersion] = textAndBase(b); // String(undefined) was saved as the text "undefined"
  const r = await q('SELECT concurrent_edit.save_draft($1, $2, $3, $4) AS at', [sid, p.fileId, baseVersion, content]);
  return [200, { savedAt: r.rows[0].at }];
}

async function acquireLock(p, b, _query, { sid }) {
  const ttl = Math.min(Math.max(Number(b.ttlSeconds) || 60, 1), 3600);
  const r = await q(`SELECT lock_id, lock_type, expires_at
                       FROM concurrent_edit.acquire_lock($1, $2, $3, make_interval(secs => $4))`,
                    [p.fileId, sid, b.lockType || 'exclusive', ttl]);
  return [200, { lockId: r.rows[0].lock_id, lockType: r.rows[0].lock_type, expiresAt: r.rows[0].expires_at }];
}

// A 423 names who holds the lock and until when, from the DETAIL: VC004 has
// {lock_session_id, holder, expires_at}, 55P03 {holders: [{session_id, ...}]}.
async function withHolder(err, sid) {
  const d = err.body.detail;
  if (err.status === 423 && d && typeof d === 'object') {
    const h = d.holders ? d.holders[0] : { session_id: d.lock_session_id, holder: d.holder, expires_at: d.expires_at };
    if (h) {
      const name = await nameOf(h.session_id, sessions.get(sid)?.projectId);
      err.body.holder = { sessionId: h.session_id, userId: h.holder, name, expiresAt: h.expires_at };
      err.body.error = `locked by ${name} until ${h.expires_at}`;
    }
  }
  return err;
}

async function releaseLock(p, _b, _query, { sid }) {
  const r = await q('SELECT concurrent_edit.release_lock($1, $2) AS released', [p.fileId, sid]);
  return [200, { released: r.rows[0].released }];
}

// Statements in one transaction on one connection of the pool: all or nothing
// (run again, twice at most, after a serialization failure or a deadlock).
const tx = (fn) => retrying(() => tx1(fn));
async function tx1(fn) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn((sql, params) => c.query(sql, params));
    await c.query('COMMIT');
    return out;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

// Resolve with {conflictId, choose: 'ours'|'theirs'} or {conflictId, content}, by
// the session (checked before, as every file route) and as its user. The conflict
// must be of the URL's file; the resolution, the draft's discard and the read are
// one transaction, so a refusal of any of them writes nothing.
async function resolve(p, b, _query, { sid, projectId }) {
  const conflictId = must(b.conflictId, 'conflictId');
  if (!isUuid(conflictId)) throw new HttpError(400, { error: 'conflictId must be a uuid' });
  if (b.content != null && typeof b.content !== 'string') throw new HttpError(400, { error: 'content must be a string' });
  const choose = b.content == null ? must(b.choose, 'choose or content') : null;
  return tx(async (tq) => {
    const c = await tq(`SELECT 1 FROM concurrent_edit.list_conflicts($1, include_resolved => true)
                         WHERE conflict_id = $2`, [p.fileId, conflictId]);
    if (!c.rows.length) {
      throw new HttpError(404, { error: 'no such conflict of this file', detail: { file_id: p.fileId, conflict_id: conflictId } });
    }
    const user = await tq(`SELECT user_id FROM concurrent_edit.project_sessions($1) WHERE session_id = $2`,
                          [projectId, sid]);
    const r = await tq('SELECT concurrent_edit.resolve_conflict($1, $2, $3, $4) AS version',
                       [conflictId, b.content ?? null, user.rows[0]?.user_id ?? null, choose]);
    await tq('SELECT concurrent_edit.discard_draft($1, $2)', [sid, p.fileId]); // the draft was the proposal
    const f = await tq('SELECT content FROM concurrent_edit.read($1, $2)', [p.fileId, r.rows[0].version]);
    return [200, { version: r.rows[0].version, content: f.rows[0].content }];
  });
}

async function history(p) {
  const r = await q(`SELECT version, created_by, created_at, session_id, bytes
                       FROM concurrent_edit.history($1) ORDER BY version DESC LIMIT 50`, [p.fileId]);
  return [200, { versions: r.rows.map((v) => ({ version: v.version, session: v.session_id,
    name: names.get(v.session_id) || names.get(v.created_by) || null, createdAt: v.created_at, bytes: Number(v.bytes) })) }];
}

async function diff(p, _b, query) {
  const r = await q('SELECT concurrent_edit.diff_versions($1, $2, $3) AS diff',
                    [p.fileId, must(query.get('from'), 'from'), must(query.get('to'), 'to')]);
  return [200, { diff: r.rows[0].diff }];
}

const UUID = '([0-9a-fA-F-]{36})';
const routes = [
  ['POST', /^\/api\/v1\/sessions$/, [], openSession],
  ['GET', new RegExp(`^/api/v1/files/${UUID}$`), ['fileId'], file(readFile)],
  ['POST', new RegExp(`^/api/v1/files/${UUID}/open$`), ['fileId'], file(openFile)],
  ['GET', new RegExp(`^/api/v1/files/${UUID}/presence$`), ['fileId'], file(presence)],
  ['POST', new RegExp(`^/api/v1/files/${UUID}/edit$`), ['fileId'], file(edit)],
  ['POST', new RegExp(`^/api/v1/files/${UUID}/draft$`), ['fileId'], file(saveDraft)],
  ['POST', new RegExp(`^/api/v1/files/${UUID}/lock$`), ['fileId'], file(acquireLock)],
  ['DELETE', new RegExp(`^/api/v1/files/${UUID}/lock$`), ['fileId'], file(releaseLock)],
  ['POST', new RegExp(`^/api/v1/files/${UUID}/conflicts/resolve$`), ['fileId'], file(resolve)],
  ['GET', new RegExp(`^/api/v1/files/${UUID}/history$`), ['fileId'], file(history)],
  ['GET', new RegExp(`^/api/v1/files/${UUID}/diff$`), ['fileId'], file(diff)],
  ['GET', /^\/api\/v1\/config$/, [], async () => [200, { projectId: process.env.DEMO_PROJECT || null,
                                                         fileId: process.env.DEMO_FILE || null }]],
  // Counts only (a monitor's, and TAP 070's): open sockets, followed projects, tabs, LISTEN channels.
  ['GET', /^\/api\/v1\/status$/, [], async () => [200, { sockets: wss.clients.size, projects: feed.projects.size,
    tabs: [...feed.projects.values()].reduce((n, p) => n + p.tabs.size, 0), channels: await feed.channels() }]],
];

// The body as a JSON object, at most MAX_BODY bytes (a longer one is read to its
// end and answered with 413, so that the client gets the answer). It must say it
// is JSON (415 otherwise: a cross-site form can post text/plain without a CORS
// preflight), and be an object (`null` or `[]` gave a TypeError, a 500, before).
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []; let size = 0;
    req.on('data', (c) => { size += c.length; if (size <= MAX_BODY) chunks.push(c); });
    req.on('end', () => {
      if (size > MAX_BODY) return reject(new HttpError(413, { error: `body over ${MAX_BODY} bytes` }));
      if (!size) return resolve({});
      if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] || '')) {
        return reject(new HttpError(415, { error: 'a body must be sent as Content-Type: application/json' }));
      }
      let body;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch (e) {
        return reject(new HttpError(400, { error: `body is not JSON: ${e.message}` }));
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return reject(new HttpError(400, { error: 'body must be a JSON object' }));
      }
      resolve(body);
    });
    req.on('error', reject);
  });
}

const STATIC = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

async function handle(req, res) {
  const url = new URL(req.url, 'http://gateway');
  const send = (status, obj) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(obj));
  };
  if (!hostAllowed(req)) return send(403, { error: 'host not allowed', detail: { host: req.headers.host ?? null } });
  if (req.method === 'GET' && STATIC[url.pathname]) {
    const file = STATIC[url.pathname];
    res.writeHead(200, { 'content-type': `${TYPES[path.extname(file)]}; charset=utf-8`, 'cache-control': 'no-store' });
    fs.createReadStream(path.join(PUBLIC, file)).pipe(res);
    return;
  }
  if (!originAllowed(req)) return send(403, { error: 'origin not allowed', detail: { origin: req.headers.origin } });
  for (const [method, re, keys, fn] of routes) {
    const m = url.pathname.match(re);
    if (!m || method !== req.method) continue;
    const params = Object.fromEntries(keys.map((k, i) => [k, m[i + 1]]));
    let body = {};
    try {
      body = await readBody(req);
      const [status, out] = await fn(params, body, url.searchParams, req.headers);
      send(status, out);
    } catch (e) {
      let err = fromPgError(e);
      if (err.status === 423) err = await withHolder(err, body.sessionId).catch(() => err);
      send(err.status, err.body);
    }
    return;
  }
  send(404, { error: 'no such route' });
}

// Live events and the sockets: live.js, with this file's helpers.
live.init({ q, log, names, loadNames, sessions, checkToken, PROJECTS, HttpError, fromPgError, forbidden, isUuid,
            hostAllowed, originAllowed });
const { feed } = live;
const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => { log(e.stack); res.destroy(); });
});
const wss = live.serveSockets(server);
feed.connect();
server.listen(PORT, HOST, () => log(`gateway listening on http://${HOST === '127.0.0.1' ? 'localhost' : HOST}:${server.address().port}/`));
