import { join, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Offline validation of rendered Kubernetes objects against the upstream API
 * schemas, in two passes that catch different mistakes:
 *
 * 1. kubernetes-models (and @kubernetes-models/prometheus-operator for the
 *    ServiceMonitor and PrometheusRule CRDs): ajv validators generated from the Kubernetes OpenAPI
 *    spec. They check types, required fields, formats and enums, but the
 *    upstream schemas allow unknown properties, so a misspelled field passes.
 * 2. The TypeScript compiler over the interfaces the same packages generate from
 *    the same spec: every object becomes an object literal typed as its
 *    interface, so excess-property checking rejects any unknown field, at any
 *    depth (`runAsNonroot`, `readinesProbe`, ...), as the API server's strict
 *    field validation (kubectl --validate=strict) would.
 */

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface ModelRef {
  /** module that exports the class (with .validate()) and the `I<Kind>` interface */
  module: string;
}

/** apiVersion/kind -> model. A kind the chart starts rendering must be added here. */
export const MODELS: Record<string, ModelRef> = {
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap' },
  'v1/Secret': { module: 'kubernetes-models/v1/Secret' },
  'v1/Service': { module: 'kubernetes-models/v1/Service' },
  'v1/ServiceAccount': { module: 'kubernetes-models/v1/ServiceAccount' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment' },
  'autoscaling/v2/HorizontalPodAutoscaler': { module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy' },
  'networking.k8s.io/v1/Ingress': { module: 'kubernetes-models/networking.k8s.io/v1/Ingress' },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
  },
};

const keyOf = (o: { apiVersion: string; kind: string }) => `${o.apiVersion}/${o.kind}`;
export const describeObject = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;

type ModelClass = new (data: unknown) => { validate(): void };

/** Pass 1: the OpenAPI (ajv) validator. Returns one message per invalid object. */
export function validateWithOpenApi(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const ref = MODELS[keyOf(object)];
    if (!ref) {
      problems.push(`${describeObject(object)}: no schema for ${keyOf(object)} (add it to MODELS in test/support/k8s-schema.ts)`);
      continue;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Model = (require(ref.module) as Record<string, ModelClass>)[object.kind];
    try {
      new Model(object).validate();
    } catch (err) {
      problems.push(`${describeObject(object)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

const ROOT = resolve(__dirname, '..', '..');

/**
 * Pass 2: unknown fields and type mismatches, via TypeScript's checker. One
 * compile for all objects (about a second); `labels[i]` prefixes the messages
 * about objects[i]. Objects of a kind missing from MODELS are pass 1's concern.
 */
export function validateStrictFields(objects: K8sObject[], labels: string[] = []): string[] {
  const problems: string[] = [];
  const labelOf = new Map(objects.map((o, i) => [o, labels[i] ? `${labels[i]}: ` : '']));
  const known = objects.filter((o) => MODELS[keyOf(o)]);
  const imports = [...new Set(known.map(keyOf))].map((key, i) => ({ key, alias: `T${i}`, ...MODELS[key] }));
  const aliasOf = new Map(imports.map((imp) => [imp.key, imp.alias]));
  const header = imports.map(
    (imp) => `import type { I${imp.key.split('/').pop()} as ${imp.alias} } from '${imp.module}';`,
  );
  // One object per line, so a diagnostic's line names the object.
  const lines = known.map((o, i) => `export const o${i}: ${aliasOf.get(keyOf(o))} = ${JSON.stringify(o)};`);
  const source = [...header, ...lines].join('\n');

  // A virtual file inside the repository, so `kubernetes-models` resolves from node_modules.
  const fileName = join(ROOT, 'test', '__k8s_strict_check__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, languageVersion) : getSourceFile(name, languageVersion, ...rest);
  host.fileExists = (name) => name === fileName || fileExists(name);

  const program = ts.createProgram([fileName], options, host);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').slice(0, 400);
    if (diagnostic.file?.fileName === fileName && diagnostic.start !== undefined) {
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const object = known[line - header.length];
      problems.push(object ? `${labelOf.get(object)}${describeObject(object)}: ${message}` : `line ${line + 1}: ${message}`);
    } else {
      problems.push(message);
    }
  }
  return problems;
}
