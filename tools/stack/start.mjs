#!/usr/bin/env node
// `npm start`: brings the whole stack up on one machine.
//   1. installs dependencies when node_modules is missing or older than package-lock.json
//   2. makes sure PostgreSQL and NATS (JetStream) answer: docker compose when a Docker
//      engine is reachable, else the locally installed servers, else says what to start
//   3. creates the database named in DATABASE_URL when it does not exist
//   4. builds the three apps with Nx, runs each app's migrations once
//   5. runs the three services with prefixed, pretty-printed logs until Ctrl-C
// Runs on Node 22: an older node re-runs it on the project's own (tools/node/node22.mjs).
// Options: --deps-only (stop after step 3), --skip-build (use the existing dist/), --help.
// Node built-ins only until step 1 has run; then `pg` and `pino-pretty` from node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_NATS_URL,
  canConnect,
  createLineFormatter,
  isLocalHost,
  makePrefix,
  parseDatabaseUrl,
  parseNatsUrl,
  prettyOptions,
  readNatsInfo,
  redactUrl,
  sleep,
  waitFor,
  waitForPort,
} from './lib.mjs';
import { runOnProjectNode } from '../node/node22.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));

export const SERVICES = [
  {
    app: 'conversation-service',
    name: 'conversation',
    port: 50051,
    colour: 'cyan',
    grpcService: 'chat.ConversationService',
  },
  {
    app: 'message-service',
    name: 'message',
    port: 50052,
    colour: 'magenta',
    grpcService: 'chat.MessageService',
  },
  {
    app: 'group-service',
    name: 'group',
    port: 50053,
    colour: 'yellow',
    grpcService: 'chat.GroupService',
  },
];
const STOP_GRACE_MS = 10_000;
const LOCAL_START_WAIT_MS = 30_000;
const DOCKER_START_WAIT_MS = 120_000;
const NATS_SERVER = '/usr/sbin/nats-server';

const useColour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const stackPrefix = makePrefix('stack', { colour: 'green', useColour });

class StackError extends Error {}

function say(message) {
  for (const line of String(message).split('\n')) console.log(`${stackPrefix} ${line}`);
}

function warn(message) {
  for (const line of String(message).split('\n')) console.error(`${stackPrefix} ${line}`);
}

function fail(message) {
  throw new StackError(message);
}

// ---- child processes ------------------------------------------------------------

/** Runs a command with inherited stdio; resolves its exit code (signals count as 1). */
function run(command, args, { cwd = ROOT, env = process.env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    });
    child.once('error', (err) => {
      warn(`could not run ${command}: ${err.message}`);
      resolve(127);
    });
    child.once('close', (code) => resolve(code ?? 1));
  });
}

function commandExists(command) {
  if (path.isAbsolute(command)) return existsSync(command);
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Feeds each line of `stream` through `format` and writes it to `out`. */
function pipeLines(stream, format, out) {
  readline
    .createInterface({ input: stream, crlfDelay: Infinity })
    .on('line', (line) => out.write(`${format(line)}\n`));
}

function serviceFormatter(service) {
  const { prettyFactory } = requireFromRoot('pino-pretty');
  return createLineFormatter({
    prefix: makePrefix(service.name, { colour: service.colour, useColour }),
    pretty: prettyFactory(prettyOptions({ colorize: useColour })),
  });
}

function describeExit(code, signal) {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

function mainJs(service) {
  return path.join(ROOT, 'dist', 'apps', service.app, 'main.js');
}

// ---- 1. dependencies ------------------------------------------------------------

/** Why node_modules needs an install, or undefined when it is up to date. */
function installReason() {
  const modules = path.join(ROOT, 'node_modules');
  if (!existsSync(modules)) return 'node_modules is missing';
  const lockfile = path.join(ROOT, 'package-lock.json');
  if (!existsSync(lockfile)) return undefined;
  const hidden = path.join(modules, '.package-lock.json'); // written by npm on every install
  const installedAt = statSync(existsSync(hidden) ? hidden : modules).mtimeMs;
  return installedAt < statSync(lockfile).mtimeMs
    ? 'node_modules is older than package-lock.json'
    : undefined;
}

async function ensureInstalled() {
  const reason = installReason();
  if (!reason) return;
  say(`${reason}: npm install --no-audit --no-fund`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if ((await run(npm, ['install', '--no-audit', '--no-fund'])) !== 0) fail('npm install failed (see above)');
  // npm may leave node_modules untouched when nothing changed: mark it current so the
  // next start does not install again.
  const hidden = path.join(ROOT, 'node_modules', '.package-lock.json');
  if (existsSync(hidden) && installReason()) {
    const now = new Date();
    utimesSync(hidden, now, now);
  }
}

// ---- 2. PostgreSQL and NATS -----------------------------------------------------

/** PostgreSQL error codes that mean "up, but not ready yet". */
const PG_NOT_READY = new Set(['57P03' /* cannot_connect_now: starting up */]);

/**
 * → { ok: true, version } | { ok: false, reachable, retryable, error }.
 * Checks the TCP port, then runs a real query on the maintenance database.
 */
export async function checkPostgres(db) {
  if (!(await canConnect(db.host, db.port, 1500))) {
    return {
      ok: false,
      reachable: false,
      retryable: true,
      error: `nothing answers on ${db.host}:${db.port}`,
    };
  }
  const pg = requireFromRoot('pg');
  const client = new pg.Client({ connectionString: db.maintenanceUrl, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query("SELECT current_setting('server_version') AS version");
    return { ok: true, version: rows[0].version };
  } catch (err) {
    const retryable =
      PG_NOT_READY.has(err.code) || /starting up|shutting down|ECONNRESET|timeout/i.test(err.message);
    return { ok: false, reachable: true, retryable, error: err.message };
  } finally {
    await client.end().catch(() => {});
  }
}

/** → { ok: true, version } | { ok: false, reachable, error }. JetStream must be on. */
export async function checkNats(nats) {
  let info;
  try {
    info = await readNatsInfo(nats.host, nats.port, 2000);
  } catch (err) {
    const reachable = await canConnect(nats.host, nats.port, 1000);
    return { ok: false, reachable, error: err.message };
  }
  if (info.jetstream !== true) {
    return {
      ok: false,
      reachable: true,
      error: `NATS ${info.version} on ${nats.host}:${nats.port} runs without JetStream (start nats-server with -js)`,
    };
  }
  return { ok: true, version: info.version };
}

function dockerEngineReachable() {
  if (!commandExists('docker')) return false;
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

/** The local-server start command for `dep` on this machine, or undefined. */
function localStartCommand(dep, nats) {
  if (dep === 'postgres') {
    if (!commandExists('pg_ctlcluster') || !existsSync('/etc/postgresql')) return undefined;
    const versions = readdirSync('/etc/postgresql')
      .filter((v) => existsSync(path.join('/etc/postgresql', v, 'main')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length === 0) return undefined;
    return ['pg_ctlcluster', ['--skip-systemctl-redirect', versions[0], 'main', 'start']];
  }
  const ssd = ['/usr/sbin/start-stop-daemon', '/sbin/start-stop-daemon'].find(existsSync);
  if (!existsSync(NATS_SERVER) || !ssd) return undefined;
  const daemon = ['--start', '--oknodo', '--background', '--exec', NATS_SERVER, '--'];
  const server = ['-a', '127.0.0.1', '-p', String(nats.port), '-js', '-sd', '/var/lib/nats-server'];
  return [ssd, [...daemon, ...server, '-l', '/var/log/nats-server.log']];
}

function howToStart(dep, db, nats) {
  return dep === 'postgres'
    ? `PostgreSQL on ${db.host}:${db.port} (docker compose up -d postgres, or your local PostgreSQL 15; or set DATABASE_URL)`
    : `NATS with JetStream on ${nats.host}:${nats.port} (docker compose up -d nats, or nats-server -js; or set NATS_URL)`;
}

/** Makes sure PostgreSQL and NATS answer, starting them when they are local and down. */
export async function ensureInfrastructure(db, nats) {
  const label = { postgres: 'PostgreSQL', nats: 'NATS' };
  const check = { postgres: () => checkPostgres(db), nats: () => checkNats(nats) };
  const where = { postgres: `${db.host}:${db.port}`, nats: `${nats.host}:${nats.port}` };
  const host = { postgres: db.host, nats: nats.host };

  const down = []; // nothing answers: start it
  const notReady = []; // answers but not ready yet (starting up): only wait
  for (const dep of ['postgres', 'nats']) {
    const state = await check[dep]();
    if (state.ok) {
      say(`${label[dep]} ${state.version} answers on ${where[dep]}`);
    } else if (!state.reachable) {
      down.push(dep);
    } else if (state.retryable) {
      notReady.push(dep);
    } else {
      // Something answers but is not usable: starting another server would not help.
      fail(`${label[dep]} on ${where[dep]} answers but cannot be used: ${state.error}`);
    }
  }
  if (down.length + notReady.length === 0) return;

  const remote = down.filter((dep) => !isLocalHost(host[dep]));
  if (remote.length > 0) {
    const list = remote.map((d) => `  - ${howToStart(d, db, nats)}`).join('\n');
    fail(`not reachable, and not on this machine so not started here:\n${list}`);
  }

  let waitMs = LOCAL_START_WAIT_MS;
  if (down.length === 0) {
    // only waiting for a server that is starting up
  } else if (dockerEngineReachable()) {
    say(
      `${down.map((d) => label[d]).join(' and ')} not answering; Docker engine found: docker compose up -d ${down.join(' ')}`,
    );
    if ((await run('docker', ['compose', 'up', '-d', ...down])) !== 0) {
      fail(`docker compose up -d ${down.join(' ')} failed (see above)`);
    }
    waitMs = DOCKER_START_WAIT_MS;
  } else {
    const commands = down.map((dep) => [dep, localStartCommand(dep, nats)]);
    const missing = commands.filter(([, cmd]) => !cmd).map(([dep]) => dep);
    if (missing.length > 0) {
      fail(
        `not answering, and there is neither a Docker engine nor a local server to start. Start:\n` +
          missing.map((d) => `  - ${howToStart(d, db, nats)}`).join('\n'),
      );
    }
    for (const [dep, [command, args]] of commands) {
      say(`${label[dep]} not answering; starting the local server: ${command} ${args.join(' ')}`);
      if ((await run(command, args)) !== 0) {
        fail(`could not start the local ${label[dep]} (see above); start it: ${howToStart(dep, db, nats)}`);
      }
    }
  }

  for (const dep of [...down, ...notReady]) {
    say(`waiting up to ${waitMs / 1000} s for ${label[dep]} on ${where[dep]} …`);
    let last;
    const ready = await waitFor(async () => (last = await check[dep]()).ok, {
      timeoutMs: waitMs,
      intervalMs: 500,
    });
    if (!ready) {
      fail(`${label[dep]} did not come up within ${waitMs / 1000} s: ${last?.error ?? 'no answer'}`);
    }
    say(`${label[dep]} ${last.version} answers on ${where[dep]}`);
  }
}

// ---- 3. database ------------------------------------------------------------------

/** Creates db.database when it does not exist. Resolves true when it created it. */
export async function ensureDatabase(db) {
  const pg = requireFromRoot('pg');
  const client = new pg.Client({ connectionString: db.maintenanceUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.database]);
    if (rowCount > 0) return false;
    try {
      await client.query(`CREATE DATABASE "${db.database.replaceAll('"', '""')}"`);
    } catch (err) {
      if (err.code === '42P04') return false; // created meanwhile by someone else
      throw err;
    }
    return true;
  } catch (err) {
    fail(`could not check or create database "${db.database}" on ${db.host}:${db.port}: ${err.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

// ---- 4. build and migrate -----------------------------------------------------------

async function build() {
  let nx;
  try {
    const manifest = requireFromRoot.resolve('nx/package.json');
    nx = path.join(path.dirname(manifest), requireFromRoot('nx/package.json').bin.nx);
  } catch {
    fail('nx is not installed in node_modules: run npm install');
  }
  const projects = SERVICES.map((s) => s.app).join(',');
  say(`building: nx run-many -t build --projects=${projects}`);
  const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
  const code = await run(process.execPath, [nx, 'run-many', '-t', 'build', `--projects=${projects}`], {
    env,
  });
  if (code !== 0) fail('the build failed (see above)');
}

function checkBuilt() {
  const missing = SERVICES.filter((s) => !existsSync(mainJs(s)));
  if (missing.length > 0) {
    const paths = missing.map((s) => path.relative(ROOT, mainJs(s))).join(', ');
    fail(`not built: ${paths} (run without --skip-build)`);
  }
}

function serviceEnv(service, db, natsUrl) {
  const messageService = SERVICES.find((s) => s.app === 'message-service');
  return {
    ...process.env,
    DATABASE_URL: db.url,
    NATS_URL: natsUrl,
    GRPC_PORT: String(service.port),
    MESSAGE_SERVICE_URL: process.env.MESSAGE_SERVICE_URL ?? `127.0.0.1:${messageService.port}`,
  };
}

function migrate(service, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs(service), 'migrate'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const format = serviceFormatter(service);
    pipeLines(child.stdout, format, process.stdout);
    pipeLines(child.stderr, format, process.stderr);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new StackError(`${service.app}: migrate failed (${describeExit(code, signal)})`));
    });
  });
}

// ---- 5. run ---------------------------------------------------------------------------

function printBanner() {
  const lines = [
    'starting the services (gRPC, plaintext, server reflection on):',
    ...SERVICES.map((s) => `  ${s.app.padEnd(21)} 127.0.0.1:${s.port}`),
    'call them, for example:',
    ...SERVICES.map((s) => `  grpcurl -plaintext -d '{}' 127.0.0.1:${s.port} ${s.grpcService}/Health`),
    `  grpcurl -plaintext 127.0.0.1:${SERVICES[0].port} list ${SERVICES[0].grpcService}`,
    `  grpcurl -plaintext 127.0.0.1:${SERVICES[1].port} grpc.health.v1.Health/Check`,
    'Ctrl-C stops all three.',
  ];
  say(lines.join('\n'));
}

/** Starts the services and supervises them; resolves the exit code for the process. */
function runServices(db, natsUrl) {
  return new Promise((resolve) => {
    const children = new Map(); // app → ChildProcess
    let stopping = false;
    let exitCode = 0;

    const stopAll = async () => {
      for (const child of children.values()) child.kill('SIGTERM');
      const deadline = Date.now() + STOP_GRACE_MS;
      while (children.size > 0 && Date.now() < deadline) await sleep(100);
      for (const [app, child] of children) {
        warn(`${app} did not stop within ${STOP_GRACE_MS / 1000} s: SIGKILL`);
        child.kill('SIGKILL');
      }
      const killDeadline = Date.now() + 2000;
      while (children.size > 0 && Date.now() < killDeadline) await sleep(50);
    };

    const shutdown = (code, reason, finalMessage) => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      (code === 0 ? say : warn)(reason);
      stopAll().then(() => {
        if (finalMessage) warn(`✖ ${finalMessage}`);
        resolve(exitCode);
      });
    };

    const onSignal = (signal) => {
      if (stopping) {
        warn(`${signal} again: killing the services now`);
        for (const child of children.values()) child.kill('SIGKILL');
        resolve(130);
        return;
      }
      shutdown(0, `${signal}: stopping the services (SIGTERM, up to ${STOP_GRACE_MS / 1000} s) …`);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
    // Last resort if this process goes away by another path: take the services with it.
    process.on('exit', () => {
      for (const child of children.values()) child.kill('SIGKILL');
    });

    printBanner();
    for (const service of SERVICES) {
      // detached: a terminal Ctrl-C reaches this supervisor only, which then stops the
      // services in order (SIGTERM, grace period, SIGKILL).
      const child = spawn(process.execPath, [mainJs(service)], {
        cwd: ROOT,
        env: serviceEnv(service, db, natsUrl),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
      });
      children.set(service.app, child);
      const format = serviceFormatter(service);
      pipeLines(child.stdout, format, process.stdout);
      pipeLines(child.stderr, format, process.stderr);
      child.once('error', (err) => {
        children.delete(service.app);
        const reason = `${service.app} could not be started: ${err.message}; stopping the others`;
        shutdown(1, reason, `${service.app} could not be started`);
      });
      child.once('close', (code, signal) => {
        children.delete(service.app);
        const how = describeExit(code, signal);
        if (stopping) {
          say(`${service.app} stopped (${how})`);
        } else {
          const reason = `${service.app} exited unexpectedly (${how}); stopping the others`;
          shutdown(1, reason, `stopped: ${service.app} died (${how})`);
        }
      });
    }

    Promise.all(
      SERVICES.map(async (service) => {
        const up = await waitForPort('127.0.0.1', service.port, { timeoutMs: 120_000 });
        const state = up ? `listens on 127.0.0.1:${service.port}` : `does not listen on ${service.port} yet`;
        if (!stopping) say(`${service.app} ${state}`);
        return up;
      }),
    ).then((up) => {
      if (!stopping && up.every(Boolean)) say('all three services are up. Ctrl-C stops them.');
    });
  });
}

// ---- main -------------------------------------------------------------------------------

const HELP = `Usage: npm start [-- --deps-only | --skip-build]
  Installs dependencies if needed, makes sure PostgreSQL and NATS answer (starting them
  with docker compose or the local servers), creates the database, builds, migrates and
  runs conversation-service (:50051), message-service (:50052) and group-service (:50053).
  --deps-only   stop once PostgreSQL, NATS and the database are ready
  --skip-build  run the existing dist/apps builds
Environment: DATABASE_URL (default ${DEFAULT_DATABASE_URL}), NATS_URL (default ${DEFAULT_NATS_URL}),
  LOG_LEVEL, MESSAGE_SERVICE_URL and the services' other variables (docs/operations.md).`;

async function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const depsOnly = argv.includes('--deps-only');
  const skipBuild = argv.includes('--skip-build');

  const db = parseDatabaseUrl(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
  const natsUrl = process.env.NATS_URL || DEFAULT_NATS_URL;
  const nats = parseNatsUrl(natsUrl);
  if (process.env.GRPC_PORT)
    warn(`GRPC_PORT=${process.env.GRPC_PORT} is ignored: npm start gives each service its own port`);
  say(`chat stack: ${SERVICES.map((s) => `${s.app} :${s.port}`).join(', ')}`);
  say(`DATABASE_URL=${redactUrl(db.url)}  NATS_URL=${natsUrl}`);

  await ensureInstalled();
  await ensureInfrastructure(db, nats);
  if (await ensureDatabase(db)) say(`created database "${db.database}"`);
  else say(`database "${db.database}" exists`);
  if (depsOnly) return 0;

  const busy = [];
  for (const service of SERVICES) if (await canConnect('127.0.0.1', service.port, 500)) busy.push(service);
  if (busy.length > 0) {
    fail(
      `already in use: ${busy.map((s) => `port ${s.port} (${s.app})`).join(', ')}. Is another npm start running?`,
    );
  }

  if (skipBuild) say('--skip-build: using the existing dist/apps');
  else await build();
  checkBuilt();

  for (const service of SERVICES) {
    say(`migrating ${service.app} …`);
    await migrate(service, serviceEnv(service, db, natsUrl));
  }
  return runServices(db, natsUrl);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await runOnProjectNode(import.meta.url);
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof StackError) warn(`✖ ${err.message}`);
      else console.error(err);
      process.exit(1);
    },
  );
}
