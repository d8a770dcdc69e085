// The live half of the gateway (server.js): ONE listening connection for the
// whole gateway, the projects it follows, and one WebSocket per browser tab.
// server.js gives it its pool's query function and its helpers (init).
'use strict';
const { Client } = require('pg');
const { WebSocketServer } = require('ws');

const LIVE_CONTENT_MAX = 256 * 1024; // version events carry the text up to this size
const MAX_SOCKETS = Number(process.env.MAX_SOCKETS || 1000); // open WebSockets past their token (close 1013 above)
const MAX_PENDING_SOCKETS = Number(process.env.MAX_PENDING_SOCKETS || 100); // not yet past it (503 above)
const MAX_SOCKETS_PER_SESSION = Number(process.env.MAX_SOCKETS_PER_SESSION || 4); // (close 1008 above)
// A socket that does not read its events: closed (1013) once this much waits to be
// sent to it. A catch-up sends its next page only when less than LOW_WATER waits.
const MAX_BUFFERED = Number(process.env.MAX_BUFFERED || 8 * 1024 * 1024);
const LOW_WATER = 1024 * 1024;
const HEARTBEAT_MIN_MS = 1000;      // at most one touch_session a second per socket
const MAX_MESSAGES_PER_10S = 100;   // more messages than this in 10 s: closed (1008)

// From server.js: the API pool's query, the log, the names and sessions it knows,
// the projects it serves, and its error, token, host and origin helpers.
let q, log, names, loadNames, sessions, checkToken, PROJECTS, HttpError, fromPgError, forbidden, isUuid,
  hostAllowed, originAllowed;
function init(deps) {
  ({ q, log, names, loadNames, sessions, checkToken, PROJECTS, HttpError, fromPgError, forbidden, isUuid,
     hostAllowed, originAllowed } = deps);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Refuses a socket: its close frame, then the connection cut `cutAfterMs` later
// if the client has not answered (one that never answers held its place 30 s).
function refuse(ws, code, reason, cutAfterMs = 1000) {
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), cutAfterMs).unref();
}
// Closes a socket that does not keep up. Its close frame waits behind what it has
// not read, so it is cut 2 s later if it has not closed by then.
function tooSlow(ws) {
  if (ws.readyState !== 1) return;
  refuse(ws, 1013, 'too slow: events not read', 2000);
}
// Sends a string to an open socket, or closes the socket when too much waits.
function sendTo(ws, data) {
  if (ws.readyState !== 1) return;
  if (ws.bufferedAmount > MAX_BUFFERED) { tooSlow(ws); return; }
  ws.send(data);
}

// Live events: ONE listening connection for the whole gateway (not one per
// tab), direct to PostgreSQL. A NOTIFY only says "project P has events up to
// cursor C"; the gateway fetches them once per project with changes_since()
// (which checks the read right) and fans them out to the project's tabs.
class Feed {
  constructor() {
    this.projects = new Map(); // project id -> {channel, last (BigInt), tabs, busy, again}
    this.joining = new Map();  // project id -> promise of its state
    this.client = null;
  }

  async connect() {
    for (;;) {
      const c = new Client({ application_name: 'ce-editor-listen',
        host: process.env.LISTEN_PGHOST || undefined, port: process.env.LISTEN_PGPORT || undefined });
      try {
        await c.connect();
        c.on('notification', (msg) => this.onNotify(msg));
        const lost = new Promise((resolve) => { c.on('error', resolve); c.on('end', resolve); });
        this.client = c;
        // After a reconnect: LISTEN again, then catch up what was missed.
        for (const [id, p] of this.projects) { await c.query(`LISTEN "${p.channel}"`); this.fetch(id); }
        log('feed: listening');
        const why = await lost;
        log(`feed: connection lost (${why && why.message}); reconnecting`);
      } catch (e) {
        log(`feed: ${e.message}; retrying`);
      }
      this.client = null;
      c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  // A tab joins its project: the project's state is created once (concurrent
  // joins share the promise) and the tab added to it at once, with no await in
  // between (a state dropped meanwhile by its last tab is made again).
  async join(id, tab) {
    for (;;) {
      if (!this.joining.has(id)) this.joining.set(id, this.init(id).catch((e) => { this.joining.delete(id); throw e; }));
      const p = await this.joining.get(id);
      if (this.projects.get(id) === p) { p.tabs.add(tab); return p; }
    }
  }

  // A tab leaves (its socket closed, at any point of its setup); the last one out
  // ends the project's LISTEN. Before, nothing did: a channel for every project
  // ever named, held until the gateway stopped.
  leave(id, tab) {
    const p = this.projects.get(id);
    if (!p || !p.tabs.delete(tab) || p.tabs.size) return;
    this.projects.delete(id);
    this.joining.delete(id);
    this.unlisten(p);
  }

  unlisten(p) {
    if (this.client) this.client.query(`UNLISTEN "${p.channel}"`).catch((e) => log(`feed: UNLISTEN: ${e.message}`));
  }

  async init(id) {
    // feed_position() checks the read right first: no LISTEN for a project refused.
    const ch = await q('SELECT concurrent_edit.channel_name($1) AS c, concurrent_edit.feed_position($1)', [id]);
    const p = { channel: ch.rows[0].c, last: 0n, tabs: new Set(), busy: false, again: false };
    // LISTEN first, then read the position: nothing committed in between is lost.
    if (this.client) await this.client.query(`LISTEN "${p.channel}"`);
    try {
      const pos = await q('SELECT concurrent_edit.feed_position($1) AS c', [id]);
      p.last = BigInt(pos.rows[0].c);
    } catch (e) {
      this.unlisten(p);
      throw e;
    }
    this.projects.set(id, p);
    return p;
  }

  // How many channels the listening connection has (GET /api/v1/status).
  async channels() {
    if (!this.client) return null;
    return Number((await this.client.query('SELECT count(*) AS n FROM pg_listening_channels()')).rows[0].n);
  }

  // Any role of the database may NOTIFY on any channel: a payload is only a hint,
  // and one that is not a JSON object with a project we follow and a cursor (a
  // number or a string of digits) is ignored (BigInt() of anything else threw,
  // out of the connection's event handler, and ended the server).
  onNotify(msg) {
    let payload;
    try { payload = JSON.parse(msg.payload); } catch { return; }
    if (payload === null || typeof payload !== 'object' || typeof payload.project_id !== 'string') return;
    const c = payload.cursor;
    const cursor = typeof c === 'number' && Number.isSafeInteger(c) && c >= 0 ? BigInt(c)
      : typeof c === 'string' && /^[0-9]{1,19}$/.test(c) ? BigInt(c) : null;
    const p = this.projects.get(payload.project_id);
    if (p && cursor !== null && cursor > p.last) this.fetch(payload.project_id);
  }

  // Events after `cursor`, with the text of each version event (one read shared
  // by every tab, instead of one request per tab).
  static async events(projectId, cursor, withContent) {
    const r = await q(`SELECT c.cursor, c.event, c.file_id, c.path, c.version, c.session_id, c.author,
                              c.details, c.created_at,
                              CASE WHEN $3 AND c.event = 'version' THEN
                                (SELECT r.content FROM concurrent_edit.read(c.file_id, c.version) r
                                  WHERE octet_length(r.content) <= $4) END AS content
                         FROM concurrent_edit.changes_since($1, $2, 500) c`,
                      [projectId, cursor.toString(), withContent, LIVE_CONTENT_MAX]);
    return r.rows.map((e) => ({ type: 'event', cursor: e.cursor, event: e.event, fileId: e.file_id, path: e.path,
      version: e.version, sessionId: e.session_id, author: e.author, name: names.get(e.session_id) || names.get(e.author) || null,
      details: e.details, createdAt: e.created_at, content: e.content ?? undefined }));
  }

  // One fetch at a time per project; notifications during it ask for another.
  async fetch(id) {
    const p = this.projects.get(id);
    if (!p) return;
    if (p.busy) { p.again = true; return; }
    p.busy = true;
    try {
      do {
        p.again = false;
        let evs;
        try {
          // Without the texts if one cannot be read (a version removed by retention).
          evs = await Feed.events(id, p.last, true).catch(() => Feed.events(id, p.last, false));
        } catch (e) {
          if (e.code !== 'VC012') throw e;
          // The gateway's cursor was pruned (prune_changes while it was away): as
          // in Tab.start, it goes on from the feed's newest cursor (VC012's DETAIL)
          // and every tab re-reads its file. Before, each later fetch failed the
          // same way and the project's tabs got no event until a restart.
          p.last = BigInt(JSON.parse(e.detail).last_cursor);
          log(`feed: events of ${id} pruned past the gateway's cursor; tabs reset to ${p.last}`);
          for (const tab of p.tabs) tab.reset(p.last);
          p.again = true;
          continue;
        }
        if (evs.some((e) => e.event === 'session_joined' && !names.has(e.sessionId))) await loadNames(id).catch(() => {});
        for (const e of evs) {
          if (!e.name) e.name = names.get(e.sessionId) || names.get(e.author) || null;
          p.last = BigInt(e.cursor);
          const data = JSON.stringify(e); // once per project, not once per tab
          for (const tab of p.tabs) tab.deliver(e, data);
        }
        if (evs.length === 500) p.again = true;
      } while (p.again);
    } catch (e) {
      log(`feed: fetch ${id}: ${e.message}`);
    } finally {
      p.busy = false;
    }
  }
}
const feed = new Feed();

// One WebSocket per tab: /ws?project=P&session=S[&cursor=C]. Without a cursor the
// tab starts at the feed's position (it reads its files after the hello); with
// one (a reconnect) it first gets every event after it, then the live ones.
class Tab {
  constructor(ws, projectId, sessionId) {
    Object.assign(this, { ws, projectId, sessionId, cursor: 0n, catchingUp: true });
  }
  deliver(e, data) {
    if (this.catchingUp || BigInt(e.cursor) <= this.cursor) return;
    this.cursor = BigInt(e.cursor);
    sendTo(this.ws, data);
  }

  // Events up to `cursor` were pruned before the gateway read them: the page
  // re-reads its file. A tab still catching up meets VC012 itself (start).
  reset(cursor) {
    if (this.catchingUp || cursor <= this.cursor) return;
    this.cursor = cursor;
    sendTo(this.ws, JSON.stringify({ type: 'reset', cursor: cursor.toString() }));
  }

  async start(p, cursor) {
    this.cursor = cursor === null ? p.last : cursor;
    let count = 0;
    let reset = false;
    while (this.cursor < p.last) {
      // The next page only once the last one has (mostly) gone out: 30 s at most.
      for (let waited = 0; this.ws.bufferedAmount > LOW_WATER; waited += 50) {
        if (waited >= 30000) { tooSlow(this.ws); return; }
        await sleep(50);
      }
      if (this.ws.readyState !== 1) return;
      let evs;
      try {
        evs = await Feed.events(this.projectId, this.cursor, false);
      } catch (e) {
        if (e.code !== 'VC012') throw e;
        // The tab's cursor was pruned (prune_changes): it re-reads its file and
        // goes on from the feed's newest cursor (VC012's DETAIL).
        this.cursor = BigInt(JSON.parse(e.detail).last_cursor);
        reset = true;
        continue;
      }
      if (!evs.length) break;
      for (const e of evs) { sendTo(this.ws, JSON.stringify(e)); this.cursor = BigInt(e.cursor); count++; }
    }
    // No await between the last check and here: live events now go straight out.
    this.catchingUp = false;
    sendTo(this.ws, JSON.stringify({ type: 'hello', cursor: this.cursor.toString(), caughtUp: count, reset }));
  }
}

// A socket's token travels in its Sec-WebSocket-Protocol header, as the
// subprotocol `ce.token.<token>` beside WS_PROTOCOL (a browser's WebSocket sets no
// other header), not in the URL: proxies and servers write URLs to their access
// logs, and a token there would open the session to whoever reads them. A token
// in the query (`?token=`) is not read.
const WS_PROTOCOL = 'ce.v1';
const TOKEN_PREFIX = 'ce.token.';
function socketToken(req) {
  const offered = String(req.headers['sec-websocket-protocol'] || '').split(',').map((p) => p.trim());
  const t = offered.find((p) => p.startsWith(TOKEN_PREFIX));
  return t === undefined ? null : t.slice(TOKEN_PREFIX.length);
}

// At most MAX_SOCKETS sockets that showed their session's token are open at
// once; one more is closed with 1013 (try again later). A session has at most
// MAX_SOCKETS_PER_SESSION (1008). Sockets not yet past the token check (or being
// refused) count apart, at most MAX_PENDING_SOCKETS: one more is refused before
// the upgrade (503). Before, every socket counted: sockets without a token that
// never answered their close frame took every place for 30 s each, and no tab
// got its events.
function serveSockets(server) {
  let admitted = 0;
  const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 64 * 1024,
    // A page of another origin, or asked by another name, may open a socket too:
    // refused before the upgrade.
    verifyClient: ({ req }, done) => {
      if (!hostAllowed(req) || !originAllowed(req)) return done(false, 403, 'not allowed');
      if (wss.clients.size - admitted >= MAX_PENDING_SOCKETS) return done(false, 503, 'too many sockets being set up');
      return done(true);
    },
    // The tab names the subprotocol WS_PROTOCOL and gives its token as a second
    // one (socketToken): the answer names WS_PROTOCOL only, never the token.
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false) });
  wss.on('connection', async (ws, req) => {
    // First of all: a frame over maxPayload or a text frame that is not UTF-8 makes
    // ws emit 'error' (then close the socket); without a handler it ended the gateway.
    ws.on('error', (e) => log(`socket: ${e.message}`));
    const url = new URL(req.url, 'http://gateway');
    const projectId = (url.searchParams.get('project') || '').toLowerCase();
    const sessionId = (url.searchParams.get('session') || '').toLowerCase();
    const c = url.searchParams.get('cursor');
    // The tab leaves its project and its session when its socket closes, whenever
    // that is: before it joined (nothing to do), while it joins (the join below
    // sees `closed`) or after.
    const tab = new Tab(ws, projectId, sessionId);
    let closed = false;
    let session = null;
    let counted = false;
    ws.on('close', () => {
      closed = true;
      if (counted) admitted--;
      feed.leave(projectId, tab);
      if (session) { session.sockets.delete(tab); session.seen = Date.now(); }
    });
    // Messages: a heartbeat runs touch_session (keeps the session active for
    // presence; its status goes back to the tab; a closed or timed-out session gets
    // VC005), at most once a second; more often it is answered with nothing. A
    // socket sending over MAX_MESSAGES_PER_10S messages in 10 s is closed.
    let lastBeat = 0; let windowStart = Date.now(); let count = 0;
    ws.on('message', async (data, isBinary) => {
      const now = Date.now();
      if (now - windowStart > 10000) { windowStart = now; count = 0; }
      if (++count > MAX_MESSAGES_PER_10S) { if (count === MAX_MESSAGES_PER_10S + 1) ws.close(1008, 'too many messages'); return; }
      let m = null;
      try { m = isBinary ? null : JSON.parse(data); } catch { /* not JSON: ignored */ }
      if (m === null || typeof m !== 'object' || m.type !== 'heartbeat' || tab.catchingUp) return;
      if (now - lastBeat < HEARTBEAT_MIN_MS) return;
      lastBeat = now;
      try {
        const r = await q('SELECT concurrent_edit.touch_session($1) AS s', [sessionId]);
        if (session) session.seen = Date.now();
        sendTo(ws, JSON.stringify({ type: 'heartbeat', status: r.rows[0].s }));
      } catch (e) {
        const err = fromPgError(e);
        sendTo(ws, JSON.stringify({ type: 'error', status: err.status, ...err.body }));
      }
    });
    try {
      if (!isUuid(projectId) || !isUuid(sessionId)
          || (c !== null && !/^\d{1,19}$/.test(c))) throw new HttpError(400, { error: 'bad project, session or cursor' });
      if (!PROJECTS.has(projectId)) throw forbidden('the gateway does not serve this project', { project_id: projectId });
      // The tab's secret (the session's token, in the subprotocols) before any other SQL.
      const s = await checkToken(sessionId, socketToken(req));
      if (closed) return;
      if (s.sockets.size >= MAX_SOCKETS_PER_SESSION) {
        refuse(ws, 1008, 'too many sockets for this session');
        return;
      }
      if (admitted >= MAX_SOCKETS) { refuse(ws, 1013, 'too many connections'); return; }
      admitted++;
      counted = true;
      session = s;
      s.sockets.add(tab);
      // The session must be alive, the gateway role's, and of this project (which
      // the role can then read): a tab follows its own project's feed only.
      const r = await q(`SELECT concurrent_edit.touch_session($1) AS s,
                                concurrent_edit.owning_project('session', $1) AS project`, [sessionId]);
      if (r.rows[0].project !== projectId) {
        throw forbidden('the session is not of this project', { session_id: sessionId, project_id: projectId });
      }
      if (!names.has(sessionId)) await loadNames(projectId);
      if (closed) return;
      const p = await feed.join(projectId, tab);
      if (closed) { feed.leave(projectId, tab); return; }
      await tab.start(p, c === null ? null : BigInt(c));
    } catch (e) {
      const err = fromPgError(e);
      sendTo(ws, JSON.stringify({ type: 'error', status: err.status, ...err.body }));
      refuse(ws, 1008, 'refused');
    }
  });
  return wss;
}

module.exports = { init, feed, serveSockets };
