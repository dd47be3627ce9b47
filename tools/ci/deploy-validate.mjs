#!/usr/bin/env node
// The Kubernetes manifests in deploy/ are checked offline, without a cluster: each kustomization
// (deploy/base and every deploy/overlays/*) is rendered with `kubectl kustomize`, every object is
// validated against the Kubernetes OpenAPI schema of its apiVersion/kind (kubernetes-models), and
// our own rules are checked on top:
//   - no Secret is rendered (secrets are created in the cluster, never kept in the repository);
//   - every container image has an explicit tag or digest (not :latest);
//   - every Deployment: readinessProbe on gRPC and livenessProbe on TCP (docs/operations.md,
//     "Kubernetes": an outage of PostgreSQL or NATS must not restart the pods), requests and a memory
//     limit on every container, terminationGracePeriodSeconds longer than the preStop sleep plus
//     SHUTDOWN_TIMEOUT_MS (from the ConfigMaps it reads, else the default of libs/service-runtime/src/config.ts),
//     ports named grpc/metrics equal to GRPC_PORT/METRICS_PORT and probed, a non-root, read-only,
//     capability-free securityContext, ConfigMaps it references rendered too;
//   - every Deployment has a PodDisruptionBudget and a HorizontalPodAutoscaler selecting it, and,
//     the autoscaler owning the replica count, no spec.replicas of its own.
// deploy/third-party/ (NATS Helm values, a CloudNativePG Cluster) is not rendered here: their
// schemas are not available offline.
//
//   node tools/ci/deploy-validate.mjs            (KUBECTL=/path/to/kubectl to choose the binary)
//
// Exit 0: every render valid (a summary per render); exit 1: the list of problems, one per line
// (render, object, path, message); exit 2: kubectl is missing or a kustomization does not render.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KUBECTL = process.env.KUBECTL || 'kubectl';
/** libs/service-runtime/src/config.ts: SHUTDOWN_TIMEOUT_MS when unset. */
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

function fail(message) {
  process.stderr.write(`deploy-validate: ${message}\n`);
  process.exit(2);
}

function kubectl(args, input) {
  const result = spawnSync(KUBECTL, args, {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error?.code === 'ENOENT') {
    fail(
      `${KUBECTL} not found. The manifests are rendered with kubectl's built-in kustomize (kubectl 1.27 or ` +
        'later; no cluster is needed): install kubectl, or set KUBECTL to its path.',
    );
  }
  if (result.error) fail(`${KUBECTL} ${args.join(' ')}: ${result.error.message}`);
  return result;
}

/** deploy/base, then every overlay with a kustomization. */
function kustomizations() {
  const dirs = ['deploy/base'];
  const overlays = path.join(ROOT, 'deploy/overlays');
  if (existsSync(overlays)) {
    for (const entry of readdirSync(overlays, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.isDirectory() && existsSync(path.join(overlays, entry.name, 'kustomization.yaml')))
        dirs.push(`deploy/overlays/${entry.name}`);
    }
  }
  return dirs;
}

/**
 * The objects of a rendered kustomization, as JSON. `kubectl kustomize` only prints YAML; a local,
 * empty patch (`kubectl patch --local -o json`) reads it back with kubectl's own YAML decoder, so the
 * objects are exactly what `kubectl apply` would send, and no YAML library is needed. It prints one
 * JSON document per object, one after the other.
 */
function render(dir) {
  const built = kubectl(['kustomize', dir]);
  if (built.status !== 0) fail(`kubectl kustomize ${dir} failed:\n${built.stderr.trim()}`);
  const converted = kubectl(
    ['patch', '--local', '-f', '-', '--type=merge', '-p', '{}', '-o', 'json'],
    built.stdout,
  );
  if (converted.status !== 0) fail(`reading the render of ${dir} failed:\n${converted.stderr.trim()}`);
  return splitJson(converted.stdout).flatMap((object) => (object.kind === 'List' ? object.items : [object]));
}

/** Consecutive JSON documents → their values. */
function splitJson(text) {
  const values = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') {
      if (depth++ === 0) start = i;
    } else if (char === '}' || char === ']') {
      if (--depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return values;
}

/** The kubernetes-models class of an apiVersion/kind (`apps/v1` → kubernetes-models/apps/v1). */
const modules = new Map();
async function modelOf(apiVersion, kind) {
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion ?? '')) return undefined;
  if (!modules.has(apiVersion)) {
    modules.set(apiVersion, await import(`kubernetes-models/${apiVersion}`).catch(() => undefined));
  }
  const model = modules.get(apiVersion)?.[kind];
  return typeof model === 'function' ? model : undefined;
}

const nameOf = (object) =>
  `${object.kind ?? '?'}/${object.metadata?.name ?? '?'}${object.metadata?.namespace ? ` (${object.metadata.namespace})` : ''}`;

/** matchLabels and matchExpressions of a LabelSelector against a pod's labels. */
function selects(selector, labels = {}) {
  if (!selector) return false;
  const pairs = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (pairs.length === 0 && expressions.length === 0) return false; // empty: not meant here
  return (
    pairs.every(([key, value]) => labels[key] === value) &&
    expressions.every(({ key, operator, values = [] }) => {
      if (operator === 'In') return values.includes(labels[key]);
      if (operator === 'NotIn') return !values.includes(labels[key]);
      if (operator === 'Exists') return key in labels;
      if (operator === 'DoesNotExist') return !(key in labels);
      return false;
    })
  );
}

/** The environment a container sees from ConfigMaps and literal values (envFrom first, env wins). */
function environmentOf(container, configMaps) {
  const environment = {};
  for (const source of container.envFrom ?? []) {
    const data = source.configMapRef ? configMaps.get(source.configMapRef.name)?.data : undefined;
    for (const [key, value] of Object.entries(data ?? {}))
      environment[`${source.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) environment[variable.name] = variable.value;
    else if (variable.valueFrom?.configMapKeyRef) {
      const { name, key } = variable.valueFrom.configMapKeyRef;
      environment[variable.name] = configMaps.get(name)?.data?.[key];
    } else delete environment[variable.name];
  }
  return environment;
}

/** Seconds a preStop hook sleeps (`sleep N` or the sleep action), else 0. */
function preStopSeconds(container) {
  const hook = container.lifecycle?.preStop;
  if (hook?.sleep?.seconds) return Number(hook.sleep.seconds);
  const command = hook?.exec?.command ?? [];
  const at = command.findIndex((part) => /(^|\/)sleep$/.test(part));
  return at >= 0 && /^\d+(\.\d+)?$/.test(command[at + 1] ?? '') ? Number(command[at + 1]) : 0;
}

function checkInvariants(objects, problem) {
  const byKind = (kind) => objects.filter((object) => object.kind === kind);
  const configMaps = new Map(byKind('ConfigMap').map((object) => [object.metadata.name, object]));

  for (const secret of byKind('Secret')) {
    problem(secret, '', 'a Secret is rendered: secrets are created in the cluster, not kept in deploy/');
  }

  for (const deployment of byKind('Deployment')) {
    const pod = deployment.spec?.template?.spec ?? {};
    const podLabels = deployment.spec?.template?.metadata?.labels ?? {};
    const at = (suffix) => `/spec/template/spec${suffix}`;

    if (!selects(deployment.spec?.selector, podLabels))
      problem(deployment, '/spec/selector', "does not select the pod template's labels");

    const budgets = byKind('PodDisruptionBudget').filter(
      (budget) =>
        budget.metadata.namespace === deployment.metadata.namespace &&
        selects(budget.spec?.selector, podLabels),
    );
    if (budgets.length !== 1)
      problem(deployment, '', `${budgets.length} PodDisruptionBudgets select its pods (want exactly 1)`);

    const scalers = byKind('HorizontalPodAutoscaler').filter(
      (hpa) =>
        hpa.metadata.namespace === deployment.metadata.namespace &&
        hpa.spec?.scaleTargetRef?.kind === 'Deployment' &&
        hpa.spec.scaleTargetRef.name === deployment.metadata.name,
    );
    if (scalers.length !== 1)
      problem(deployment, '', `${scalers.length} HorizontalPodAutoscalers target it (want exactly 1)`);
    if (scalers.length > 0 && deployment.spec?.replicas !== undefined)
      problem(
        deployment,
        '/spec/replicas',
        'set while an autoscaler owns the replica count: every apply would reset it',
      );
    for (const hpa of scalers) {
      if ((hpa.spec.minReplicas ?? 1) > hpa.spec.maxReplicas)
        problem(hpa, '/spec/minReplicas', 'greater than maxReplicas');
      const minAvailable = budgets[0]?.spec?.minAvailable;
      if (typeof minAvailable === 'number' && minAvailable >= (hpa.spec.minReplicas ?? 1))
        problem(
          budgets[0],
          '/spec/minAvailable',
          `not below the autoscaler's minReplicas (${hpa.spec.minReplicas ?? 1}): no pod could ever be evicted`,
        );
    }

    if (pod.securityContext?.runAsNonRoot !== true)
      problem(deployment, at('/securityContext/runAsNonRoot'), 'must be true');

    const containers = (pod.containers ?? []).map((container, index) => [container, `/containers/${index}`]);
    const initContainers = (pod.initContainers ?? []).map((container, index) => [
      container,
      `/initContainers/${index}`,
    ]);
    for (const [container, where] of [...containers, ...initContainers]) {
      const image = container.image ?? '';
      if (!/@sha256:[0-9a-f]{64}$/.test(image) && !/:[\w][\w.-]*$/.test(image.split('/').pop()))
        problem(deployment, at(`${where}/image`), `"${image}" has no tag or digest`);
      else if (/:latest$/.test(image))
        problem(deployment, at(`${where}/image`), `"${image}": pin a version, not latest`);
      const resources = container.resources ?? {};
      for (const field of ['requests/cpu', 'requests/memory', 'limits/memory']) {
        const [group, name] = field.split('/');
        if (resources[group]?.[name] === undefined)
          problem(deployment, at(`${where}/resources/${field}`), 'not set');
      }
      const security = container.securityContext ?? {};
      if (security.readOnlyRootFilesystem !== true)
        problem(deployment, at(`${where}/securityContext/readOnlyRootFilesystem`), 'must be true');
      if (security.allowPrivilegeEscalation !== false)
        problem(deployment, at(`${where}/securityContext/allowPrivilegeEscalation`), 'must be false');
      if (!(security.capabilities?.drop ?? []).includes('ALL'))
        problem(deployment, at(`${where}/securityContext/capabilities/drop`), 'must contain ALL');
      for (const [index, source] of (container.envFrom ?? []).entries()) {
        if (source.configMapRef && !source.configMapRef.optional && !configMaps.has(source.configMapRef.name))
          problem(
            deployment,
            at(`${where}/envFrom/${index}`),
            `ConfigMap ${source.configMapRef.name} is not rendered`,
          );
      }
    }

    let longestShutdownMs = 0;
    for (const [container, where] of containers) {
      const environment = environmentOf(container, configMaps);
      const ports = new Map((container.ports ?? []).map((port) => [port.name, port.containerPort]));
      const grpcPort = ports.get('grpc');
      if (grpcPort === undefined) problem(deployment, at(`${where}/ports`), 'no port named grpc');
      else if (environment.GRPC_PORT !== undefined && Number(environment.GRPC_PORT) !== grpcPort)
        problem(
          deployment,
          at(`${where}/ports`),
          `port grpc is ${grpcPort} but GRPC_PORT is ${environment.GRPC_PORT}`,
        );
      const metricsPort = ports.get('metrics');
      if (metricsPort === undefined) problem(deployment, at(`${where}/ports`), 'no port named metrics');
      else if (environment.METRICS_PORT !== undefined && Number(environment.METRICS_PORT) !== metricsPort)
        problem(
          deployment,
          at(`${where}/ports`),
          `port metrics is ${metricsPort} but METRICS_PORT is ${environment.METRICS_PORT}`,
        );
      const annotations = deployment.spec?.template?.metadata?.annotations ?? {};
      if (
        annotations['prometheus.io/scrape'] === 'true' &&
        Number(annotations['prometheus.io/port']) !== metricsPort
      )
        problem(
          deployment,
          '/spec/template/metadata/annotations/prometheus.io~1port',
          `is not the metrics port (${metricsPort})`,
        );

      const probePort = (probe) => {
        const port = probe?.grpc?.port ?? probe?.tcpSocket?.port;
        return typeof port === 'string' ? ports.get(port) : port;
      };
      const readiness = container.readinessProbe;
      if (!readiness) problem(deployment, at(`${where}/readinessProbe`), 'missing');
      else if (!readiness.grpc)
        problem(deployment, at(`${where}/readinessProbe`), 'must be a grpc probe (grpc.health.v1)');
      else if (probePort(readiness) !== grpcPort)
        problem(deployment, at(`${where}/readinessProbe/grpc/port`), `is not the grpc port (${grpcPort})`);
      const liveness = container.livenessProbe;
      if (!liveness) problem(deployment, at(`${where}/livenessProbe`), 'missing');
      else if (!liveness.tcpSocket)
        problem(
          deployment,
          at(`${where}/livenessProbe`),
          'must be a tcpSocket probe: a dependency outage must not restart pods',
        );
      else if (probePort(liveness) !== grpcPort)
        problem(
          deployment,
          at(`${where}/livenessProbe/tcpSocket/port`),
          `is not the grpc port (${grpcPort})`,
        );
      if (container.startupProbe?.grpc && probePort(container.startupProbe) !== grpcPort)
        problem(deployment, at(`${where}/startupProbe/grpc/port`), `is not the grpc port (${grpcPort})`);

      const configured = environment.SHUTDOWN_TIMEOUT_MS;
      const shutdownMs =
        configured === undefined || configured === '' ? DEFAULT_SHUTDOWN_TIMEOUT_MS : Number(configured);
      longestShutdownMs = Math.max(longestShutdownMs, preStopSeconds(container) * 1000 + shutdownMs);
    }
    const graceSeconds = pod.terminationGracePeriodSeconds ?? 30;
    if (graceSeconds * 1000 <= longestShutdownMs)
      problem(
        deployment,
        at('/terminationGracePeriodSeconds'),
        `${graceSeconds} s is not longer than the preStop sleep plus SHUTDOWN_TIMEOUT_MS (${longestShutdownMs} ms)`,
      );
  }

  for (const service of byKind('Service')) {
    const targets = byKind('Deployment').filter(
      (deployment) =>
        deployment.metadata.namespace === service.metadata.namespace &&
        selects({ matchLabels: service.spec?.selector }, deployment.spec?.template?.metadata?.labels),
    );
    if (targets.length !== 1)
      problem(service, '/spec/selector', `selects ${targets.length} Deployments (want 1)`);
    const names = new Set(
      (targets[0]?.spec.template.spec.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.name)),
    );
    for (const [index, port] of (service.spec?.ports ?? []).entries()) {
      if (typeof port.targetPort === 'string' && targets.length === 1 && !names.has(port.targetPort))
        problem(service, `/spec/ports/${index}/targetPort`, `no container port named ${port.targetPort}`);
    }
  }
}

let failures = 0;
const summaries = [];
for (const dir of kustomizations()) {
  const objects = render(dir);
  const problem = (object, where, message) => {
    failures++;
    process.stdout.write(`✘ ${dir}: ${nameOf(object)} ${where || '/'}: ${message}\n`);
  };
  const counts = new Map();
  for (const object of objects) {
    const model = await modelOf(object.apiVersion, object.kind);
    if (!model) {
      problem(object, '', `no Kubernetes schema for ${object.apiVersion} ${object.kind} (kubernetes-models)`);
      continue;
    }
    try {
      new model(object).validate();
    } catch (error) {
      const errors = Array.isArray(error.errors)
        ? error.errors
        : [{ instancePath: '', message: error.message }];
      for (const detail of errors) {
        const extra = detail.params?.allowedValues ? ` (${detail.params.allowedValues.join(', ')})` : '';
        problem(object, detail.instancePath, `${detail.message}${extra} [schema]`);
      }
    }
    counts.set(object.kind, (counts.get(object.kind) ?? 0) + 1);
  }
  checkInvariants(objects, problem);
  const byKind = [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
  summaries.push(`${dir}: ${objects.length} objects validated (${byKind})`);
}

if (failures > 0) {
  process.stdout.write(`\n${failures} problem${failures === 1 ? '' : 's'} in deploy/\n`);
  process.exit(1);
}
for (const line of summaries) process.stdout.write(`✔ ${line}\n`);
process.stdout.write('Not validated here: deploy/third-party/ (NATS Helm values, CloudNativePG Cluster).\n');
