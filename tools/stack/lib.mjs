// Pure helpers for tools/stack/start.mjs: URL parsing, TCP probes, waiting, log-line
// formatting. Node built-ins only, so they work before `npm install` has run.
import net from 'node:net';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/chat';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0']);

/** True when `host` is this machine, so starting a server here can help. */
export function isLocalHost(host) {
  return LOCAL_HOSTS.has(host) || host.startsWith('127.');
}

function stripBrackets(hostname) {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * DATABASE_URL → { host, port, database, user, url, maintenanceUrl }.
 * `maintenanceUrl` is the same server with the `postgres` database, used to check the
 * server and create the target database.
 */
export function parseDatabaseUrl(raw = DEFAULT_DATABASE_URL) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`DATABASE_URL is not a valid URL: ${redactUrl(raw)}`);
  }
  if (!['postgres:', 'postgresql:'].includes(url.protocol)) {
    throw new Error(`DATABASE_URL must start with postgres:// (got ${url.protocol}//)`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const maintenance = new URL(url.href);
  maintenance.pathname = '/postgres';
  return {
    host: stripBrackets(url.hostname) || '127.0.0.1',
    port: Number(url.port || 5432),
    database,
    user: decodeURIComponent(url.username) || 'postgres',
    url: url.href,
    maintenanceUrl: maintenance.href,
  };
}

/** NATS_URL (first entry of a comma-separated list; scheme optional) → { host, port }. */
export function parseNatsUrl(raw = DEFAULT_NATS_URL) {
  const first = raw.split(',')[0].trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(first) ? first : `nats://${first}`;
  let url;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`NATS_URL is not a valid URL: ${redactUrl(raw)}`);
  }
  return { host: stripBrackets(url.hostname) || '127.0.0.1', port: Number(url.port || 4222) };
}

/** The URL with its password replaced by ***, for messages. */
export function redactUrl(raw) {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return String(raw).replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

/** Resolves true when a TCP connection to host:port opens within timeoutMs, else false. */
export function canConnect(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Connects to a NATS server and returns the parsed JSON of its greeting line
 * (`INFO {...}\r\n`). Rejects when nothing answers, or with something that is not NATS.
 */
export function readNatsInfo(host, port, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffer = '';
    const finish = (err, info) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(info);
    };
    socket.setTimeout(timeoutMs, () =>
      finish(new Error(`no INFO line from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.once('error', (err) => finish(err));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const end = buffer.indexOf('\n');
      if (end === -1) {
        if (buffer.length > 64 * 1024)
          finish(new Error(`${host}:${port} sent no line break: not a NATS server?`));
        return;
      }
      const line = buffer.slice(0, end).trim();
      if (!line.startsWith('INFO ')) {
        finish(new Error(`${host}:${port} answered "${line.slice(0, 60)}", not a NATS INFO line`));
        return;
      }
      try {
        finish(null, JSON.parse(line.slice(5)));
      } catch {
        finish(new Error(`${host}:${port} sent an INFO line that is not JSON`));
      }
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` until it resolves truthy or `timeoutMs` passes. Returns the last probe
 * value (falsy on timeout). A probe that throws counts as "not yet".
 */
export async function waitFor(probe, { timeoutMs = 30_000, intervalMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value;
    try {
      value = await probe();
    } catch {
      value = undefined;
    }
    if (value || Date.now() >= deadline) return value;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** Waits until host:port accepts TCP connections; resolves true, or false on timeout. */
export async function waitForPort(host, port, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  return Boolean(await waitFor(() => canConnect(host, port, 1000), { timeoutMs, intervalMs }));
}

// ---- log formatting ---------------------------------------------------------------

const ANSI = { reset: '\x1b[0m', dim: '\x1b[2m', bold: '\x1b[1m' };
const COLOURS = {
  cyan: '\x1b[36m',
  magenta: '\x1b[35m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  green: '\x1b[32m',
  red: '\x1b[31m',
};

/** `conversation │` with the name padded to `width`, coloured when `colour` is set. */
export function makePrefix(name, { width = 12, colour, useColour = false } = {}) {
  const label = `${name.padEnd(width)} │`;
  return useColour && colour ? `${COLOURS[colour] ?? ''}${label}${ANSI.reset}` : label;
}

/** Parses a line as a JSON object (a pino log record); returns undefined when it is not one. */
export function parseJsonObject(line) {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return undefined;
  try {
    const value = JSON.parse(trimmed);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns `format(line) → string` (no trailing newline): a JSON line goes through
 * `pretty` (pino-pretty's prettyFactory result), any other line stays as it is; every
 * resulting line (pretty output can span several, e.g. an error stack) gets `prefix`.
 */
export function createLineFormatter({ prefix, pretty }) {
  return (line) => {
    const record = pretty ? parseJsonObject(line) : undefined;
    const text = record ? pretty(record).replace(/\r?\n$/, '') : line.replace(/\r$/, '');
    return text
      .split(/\r?\n/)
      .map((part) => `${prefix} ${part.trimEnd()}`)
      .join('\n');
  };
}

/** Options for pino-pretty's prettyFactory used for the services' logs. */
export function prettyOptions({ colorize }) {
  return {
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    // The prefix already names the service; pid/hostname are noise on one machine.
    ignore: 'pid,hostname,service',
    singleLine: true,
  };
}
