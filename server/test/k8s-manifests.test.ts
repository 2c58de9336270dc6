/**
 * The Kubernetes manifests of docker/k8s, checked without a cluster (DESIGN.md: Kubernetes cannot run
 * here). Three layers, each of which a broken manifest fails, as the last block of tests shows:
 *
 * 1. Schema: every YAML document under docker/k8s is built into its kubernetes-models class (chosen
 *    by apiVersion and kind; an unknown kind is a failure) and `.validate()`d against the Kubernetes
 *    OpenAPI schema compiled into that class: types, required fields, enums, formats.
 * 2. Field names: the OpenAPI schemas leave objects open, so `.validate()` accepts a misspelt field
 *    (`readinesProbe:`) that the API server would drop or refuse. The same package's generated type
 *    declarations list every field, so the TypeScript checker walks each document against them.
 * 3. Cross-references that no schema sees: Service selectors and ports against the pods they pick,
 *    probes against declared ports and the endpoints the processes serve, the autoscaler's target,
 *    Secret and ConfigMap keys, the security profile, resources, and the three contract images.
 *
 * With kubectl on PATH, the kustomization is also rendered (with and without the gpu component) and
 * the rendered objects go through the same checks.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import type { IContainer, IPodSpec, IProbe } from 'kubernetes-models/v1' with { 'resolution-mode': 'import' };

const K8S_DIR = join(__dirname, '..', '..', 'docker', 'k8s');

// ---- the contracts the manifests are written against (issue 19) ----
const IMAGES = { simWorker: 'rewardlab/sim-worker:0.1.0', trainer: 'rewardlab/trainer:0.1.0', api: 'rewardlab/api:0.1.0' } as const;
/** The rewardlab subcommands each image may run (its entrypoint is the `rewardlab` CLI). */
const SUBCOMMANDS: Record<string, string[]> = { [IMAGES.simWorker]: ['sim-worker'], [IMAGES.trainer]: ['train', 'trainer-agent'], [IMAGES.api]: ['serve'] };
/** The HTTP endpoints each image serves, per probe kind. */
const PROBE_PATHS: Record<string, Record<ProbeKind, string[]>> = {
  // /readyz turns 503 while the worker drains, /healthz stays 200: readiness must use the first.
  [IMAGES.simWorker]: { readinessProbe: ['/readyz'], livenessProbe: ['/healthz'], startupProbe: ['/healthz', '/readyz'] },
  [IMAGES.api]: { readinessProbe: ['/api/health'], livenessProbe: ['/api/health'], startupProbe: ['/api/health'] },
};
/** Images that serve an endpoint and so must be probed. */
const SERVING_IMAGES = [IMAGES.simWorker, IMAGES.api];
/** The self-contained demo's PostgreSQL and Redis: the Debian variants, whose users are uid 999. */
const INFRA_IMAGES = ['postgres:16-bookworm', 'redis:7-bookworm'];
const REWARDLAB_UID = 10001;
const NAMESPACE = 'rewardlab';

// ---- documents ----
interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Manifest { file: string; index: number; doc: K8sObject }

type ProbeKind = 'readinessProbe' | 'livenessProbe' | 'startupProbe';
const PROBE_KINDS: ProbeKind[] = ['readinessProbe', 'livenessProbe', 'startupProbe'];

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && statSync(join(dir, f)).isFile())
    .map((f) => f.split('\\').join('/'))
    .sort();
}

const isKustomization = (file: string): boolean => /(^|\/)kustomization\.ya?ml$/.test(file);

/** Every document of every manifest file (kustomization files excluded), multi-document aware. */
function loadManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const file of yamlFilesUnder(dir).filter((f) => !isKustomization(f))) out.push(...parseManifests(readFileSync(join(dir, file), 'utf8'), file));
  return out;
}

function parseManifests(text: string, file: string): Manifest[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${file}: not YAML documents`);
  return docs.flatMap((d, index) => {
    if (d.errors.length > 0) throw new Error(`${file} document ${index}: ${d.errors.map((e) => e.message).join('; ')}`);
    const doc = d.toJS() as K8sObject | null;
    return doc === null ? [] : [{ file, index, doc }];
  });
}

const idOf = (m: Manifest): string => `${m.file}#${m.index} ${m.doc.kind ?? '?'}/${m.doc.metadata?.name ?? '?'}`;
const clone = <T>(x: T): T => structuredClone(x);

// ---- layer 1: the OpenAPI schemas, through kubernetes-models ----
interface ModelClass { apiVersion: string; kind: string; new (data: never): { validate(): void } }

/** apiVersion/kind → kubernetes-models class, for every kind these manifests may use. */
async function loadModelRegistry(): Promise<Map<string, ModelClass>> {
  const [core, apps, batch, autoscaling, policy, networking, rbac] = await Promise.all([
    import('kubernetes-models/v1'),
    import('kubernetes-models/apps/v1'),
    import('kubernetes-models/batch/v1'),
    import('kubernetes-models/autoscaling/v2'),
    import('kubernetes-models/policy/v1'),
    import('kubernetes-models/networking.k8s.io/v1'),
    import('kubernetes-models/rbac.authorization.k8s.io/v1'),
  ]);
  const classes: ModelClass[] = [
    core.Namespace, core.ConfigMap, core.Secret, core.Service, core.PersistentVolumeClaim, core.ServiceAccount,
    apps.Deployment, apps.StatefulSet, apps.DaemonSet, batch.Job, batch.CronJob, autoscaling.HorizontalPodAutoscaler,
    policy.PodDisruptionBudget, networking.NetworkPolicy, networking.Ingress, rbac.Role, rbac.RoleBinding,
  ];
  return new Map(classes.map((c) => [`${c.apiVersion} ${c.kind}`, c]));
}

function schemaProblems(models: Map<string, ModelClass>, m: Manifest): string[] {
  const { apiVersion, kind } = m.doc;
  const Model = models.get(`${apiVersion} ${kind}`);
  if (!Model) return [`${idOf(m)}: no Kubernetes model for apiVersion ${String(apiVersion)} kind ${String(kind)} (a typo, or a kind this test does not know yet)`];
  try {
    new Model(clone(m.doc) as never).validate();
    return [];
  } catch (err) {
    return [`${idOf(m)}: ${(err as Error).message}`];
  }
}

// ---- layer 2: field names, from the type declarations generated from the same schemas ----
class FieldNameChecker {
  private readonly checker: ts.TypeChecker;
  private readonly roots = new Map<string, ts.Type>();

  constructor(models: Map<string, ModelClass>) {
    const entries = [...models.values()];
    // A virtual module beside this file (so that module resolution finds kubernetes-models) naming
    // each kind's interface: `kubernetes-models/apps/v1` exports IDeployment, and so on.
    const virtual = join(__dirname, '__k8s-kinds__.ts');
    const source = entries.map((c, i) => `export type T${i} = import('kubernetes-models/${c.apiVersion}').I${c.kind};`).join('\n');
    const options: ts.CompilerOptions = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, lang, ...rest) => (name === virtual ? ts.createSourceFile(name, source, lang) : getSourceFile.call(host, name, lang, ...rest));
    host.fileExists = (name) => name === virtual || fileExists.call(host, name);
    host.readFile = (name) => (name === virtual ? source : readFile.call(host, name));
    const program = ts.createProgram([virtual], options, host);
    this.checker = program.getTypeChecker();
    const sf = program.getSourceFile(virtual)!;
    const diagnostics = ts.getPreEmitDiagnostics(program, sf);
    if (diagnostics.length > 0) throw new Error(`kubernetes-models' declarations did not load: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`);
    sf.statements.forEach((stmt, i) => {
      if (!ts.isTypeAliasDeclaration(stmt)) return;
      const c = entries[i]!;
      this.roots.set(`${c.apiVersion} ${c.kind}`, this.checker.getTypeAtLocation(stmt.name));
    });
  }

  problems(m: Manifest): string[] {
    const root = this.roots.get(`${m.doc.apiVersion} ${m.doc.kind}`);
    if (!root) return []; // layer 1 reports unknown kinds
    const out: string[] = [];
    this.walk(m.doc, root, '', out);
    return out.map((p) => `${idOf(m)}: ${p}`);
  }

  private walk(value: unknown, declared: ts.Type, path: string, out: string[]): void {
    if (value === null || typeof value !== 'object') return; // scalars are layer 1's business
    const type = this.objectMember(declared, Array.isArray(value));
    if (!type) return;
    if (Array.isArray(value)) {
      const element = this.checker.getTypeArguments(type as ts.TypeReference)[0];
      if (element) value.forEach((v, i) => this.walk(v, element, `${path}[${i}]`, out));
      return;
    }
    const index = type.getStringIndexType();
    const fields = this.checker.getPropertiesOfType(type);
    for (const [key, v] of Object.entries(value)) {
      const field = type.getProperty(key);
      const at = path ? `${path}.${key}` : key;
      if (field) this.walk(v, this.checker.getTypeOfSymbol(field), at, out);
      else if (index) this.walk(v, index, at, out);
      else if (fields.length > 0) out.push(`${at}: unknown field (${closest(key, fields.map((f) => f.name))})`);
    }
  }

  /** The object (or array) member of a declared type such as `IProbe | undefined` or `number | string`. */
  private objectMember(type: ts.Type, wantArray: boolean): ts.Type | undefined {
    const members = type.isUnion() ? type.types : [type];
    return members.find((t) => (t.flags & ts.TypeFlags.Object) !== 0 && this.checker.isArrayType(t) === wantArray);
  }
}

/** "did you mean X?" for a misspelt field, else the fields there are. */
function closest(word: string, candidates: string[]): string {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const best = candidates.map((c) => ({ c, d: distance(word.toLowerCase(), c.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 3 ? `did you mean ${best.c}?` : `expected one of ${candidates.join(', ')}`;
}

// ---- layer 3: cross-references ----
interface Workload { m: Manifest; name: string; kind: string; podLabels: Record<string, string>; pod: IPodSpec; claimTemplates: string[] }

function workloadsOf(ms: Manifest[]): Workload[] {
  return ms.flatMap((m) => {
    const { kind } = m.doc;
    if (kind !== 'Deployment' && kind !== 'StatefulSet' && kind !== 'DaemonSet' && kind !== 'Job') return [];
    const spec = (m.doc.spec ?? {}) as { template?: { metadata?: { labels?: Record<string, string> }; spec?: IPodSpec }; volumeClaimTemplates?: { metadata?: { name?: string } }[] };
    return [{
      m, kind, name: m.doc.metadata?.name ?? '?',
      podLabels: spec.template?.metadata?.labels ?? {},
      pod: spec.template?.spec ?? { containers: [] },
      claimTemplates: (spec.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '?'),
    }];
  });
}

const containersOf = (pod: IPodSpec): IContainer[] => [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

function declaresPort(c: IContainer, port: number | string): boolean {
  return (c.ports ?? []).some((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

function containerPortNumber(c: IContainer, port: number | string): number | undefined {
  return (c.ports ?? []).find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port))?.containerPort;
}

function argAfter(c: IContainer, flag: string): string | undefined {
  const args = c.args ?? [];
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function crossCheck(ms: Manifest[]): string[] {
  const problems: string[] = [];
  const objects = (kind: string): Manifest[] => ms.filter((m) => m.doc.kind === kind);
  const workloads = workloadsOf(ms);
  const secrets = new Map(objects('Secret').map((m) => [m.doc.metadata?.name, new Set(Object.keys({ ...(m.doc.data as object), ...(m.doc.stringData as object) }))]));
  const configMaps = new Map(objects('ConfigMap').map((m) => [m.doc.metadata?.name, new Set(Object.keys({ ...(m.doc.data as object), ...(m.doc.binaryData as object) }))]));
  const claims = new Set(objects('PersistentVolumeClaim').map((m) => m.doc.metadata?.name));

  // Names are unique per kind, and every object carries the recommended labels.
  const seen = new Set<string>();
  for (const m of ms) {
    const key = `${m.doc.kind}/${m.doc.metadata?.name}`;
    if (seen.has(key)) problems.push(`${idOf(m)}: a second ${key}`);
    seen.add(key);
    const labels = m.doc.metadata?.labels ?? {};
    if (!labels['app.kubernetes.io/name']) problems.push(`${idOf(m)}: no app.kubernetes.io/name label`);
    if (labels['app.kubernetes.io/part-of'] !== 'rewardlab') problems.push(`${idOf(m)}: label app.kubernetes.io/part-of is not rewardlab`);
    if (m.doc.kind !== 'Namespace' && m.doc.metadata?.namespace !== undefined && m.doc.metadata.namespace !== NAMESPACE) problems.push(`${idOf(m)}: namespace ${m.doc.metadata.namespace}, not ${NAMESPACE}`);
  }

  for (const w of workloads) {
    const at = idOf(w.m);
    const spec = w.m.doc.spec as { selector?: { matchLabels?: Record<string, string> }; replicas?: number };
    // The API server refuses a selector that does not select the pod template; the schema does not.
    if (w.kind !== 'Job' && !selects(spec.selector?.matchLabels ?? {}, w.podLabels)) problems.push(`${at}: spec.selector.matchLabels ${JSON.stringify(spec.selector?.matchLabels)} does not select the pod template's labels`);
    if (w.podLabels['app.kubernetes.io/part-of'] !== 'rewardlab' || !w.podLabels['app.kubernetes.io/name']) problems.push(`${at}: pod template lacks the app.kubernetes.io/name and part-of labels`);
    if (w.kind === 'Job' && w.pod.restartPolicy !== 'Never' && w.pod.restartPolicy !== 'OnFailure') problems.push(`${at}: a Job's restartPolicy must be Never or OnFailure`);

    // Pod-level security (the namespace enforces the restricted Pod Security Standard).
    if (w.pod.hostNetwork || w.pod.hostPID || w.pod.hostIPC) problems.push(`${at}: uses a host namespace`);
    const volumes = new Set([...(w.pod.volumes ?? []).map((v) => v.name), ...w.claimTemplates]);
    for (const v of w.pod.volumes ?? []) {
      if (v.hostPath) problems.push(`${at}: volume ${v.name} is a hostPath`);
      if (v.persistentVolumeClaim && !claims.has(v.persistentVolumeClaim.claimName)) problems.push(`${at}: volume ${v.name} claims PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}, which no manifest defines`);
      if (v.secret?.secretName && !secrets.has(v.secret.secretName) && !v.secret.optional) problems.push(`${at}: volume ${v.name} mounts Secret ${v.secret.secretName}, which no manifest defines`);
      if (v.configMap?.name && !configMaps.has(v.configMap.name) && !v.configMap.optional) problems.push(`${at}: volume ${v.name} mounts ConfigMap ${v.configMap.name}, which no manifest defines`);
    }

    for (const c of containersOf(w.pod)) {
      const cat = `${at} container ${c.name}`;
      const image = c.image ?? '';
      const isRewardlab = image.startsWith('rewardlab/');

      // Images: the three contract images, each running one of its subcommands through the entrypoint.
      if (isRewardlab) {
        if (!SUBCOMMANDS[image]) problems.push(`${cat}: image ${image} is not one of the contract images ${Object.values(IMAGES).join(', ')}`);
        else if (!SUBCOMMANDS[image]!.includes(c.args?.[0] ?? '')) problems.push(`${cat}: image ${image} runs \`${c.args?.[0]}\`, expected one of ${SUBCOMMANDS[image]!.join(', ')}`);
        if (c.command) problems.push(`${cat}: overrides the image's entrypoint (the rewardlab CLI); give the subcommand in args`);
      } else if (!INFRA_IMAGES.includes(image)) problems.push(`${cat}: image ${image} is neither a contract image nor one of ${INFRA_IMAGES.join(', ')}`);

      // Security: non-root, no escalation, no capabilities, default seccomp, read-only root.
      const sc = { ...w.pod.securityContext, ...c.securityContext };
      if (sc.runAsNonRoot !== true) problems.push(`${cat}: runAsNonRoot is not true`);
      if (sc.runAsUser === undefined || sc.runAsUser === 0) problems.push(`${cat}: runAsUser ${sc.runAsUser ?? 'unset'} (must be a non-root uid)`);
      if (isRewardlab && sc.runAsUser !== REWARDLAB_UID) problems.push(`${cat}: runAsUser ${sc.runAsUser}, but the images' user is ${REWARDLAB_UID}`);
      if (c.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${cat}: allowPrivilegeEscalation is not false`);
      if (c.securityContext?.privileged) problems.push(`${cat}: privileged`);
      if (!(c.securityContext?.capabilities?.drop ?? []).includes('ALL')) problems.push(`${cat}: capabilities are not dropped (drop: [ALL])`);
      if (sc.seccompProfile?.type !== 'RuntimeDefault' && sc.seccompProfile?.type !== 'Localhost') problems.push(`${cat}: no RuntimeDefault seccomp profile`);
      if (c.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${cat}: readOnlyRootFilesystem is not true`);

      // Resources: requests and limits for cpu and memory on every container.
      for (const side of ['requests', 'limits'] as const) {
        for (const r of ['cpu', 'memory']) if (c.resources?.[side]?.[r] === undefined) problems.push(`${cat}: no resources.${side}.${r}`);
      }

      // Mounts name declared volumes.
      for (const vm of c.volumeMounts ?? []) if (!volumes.has(vm.name)) problems.push(`${cat}: mounts volume ${vm.name}, which the pod does not declare`);

      // Env references resolve to keys that the manifests define; $(VAR) in args names a declared var
      // (the kubelet leaves an unknown reference in the argument verbatim).
      const envNames = new Set((c.env ?? []).map((e) => e.name));
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        if (s && !s.optional && !secrets.get(s.name)?.has(s.key)) problems.push(`${cat}: env ${e.name} reads key ${s.key} of Secret ${s.name}, which ${secrets.has(s.name) ? 'has no such key' : 'no manifest defines'}`);
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm && !cm.optional && !configMaps.get(cm.name)?.has(cm.key)) problems.push(`${cat}: env ${e.name} reads key ${cm.key} of ConfigMap ${cm.name}, which ${configMaps.has(cm.name) ? 'has no such key' : 'no manifest defines'}`);
      }
      for (const ef of c.envFrom ?? []) {
        if (ef.secretRef && !ef.secretRef.optional && !secrets.has(ef.secretRef.name)) problems.push(`${cat}: envFrom Secret ${ef.secretRef.name}, which no manifest defines`);
        if (ef.configMapRef && !ef.configMapRef.optional && !configMaps.has(ef.configMapRef.name)) problems.push(`${cat}: envFrom ConfigMap ${ef.configMapRef.name}, which no manifest defines`);
      }
      for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
        for (const [, name] of arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) if (!envNames.has(name!)) problems.push(`${cat}: argument ${arg} refers to $(${name}), which the container's env does not define`);
      }

      // A --port argument is a declared container port.
      const portArg = argAfter(c, '--port');
      if (portArg !== undefined && !declaresPort(c, Number(portArg))) problems.push(`${cat}: listens on --port ${portArg}, which is not a declared containerPort`);

      // Probes: on declared ports, at the endpoints the process serves.
      for (const kind of PROBE_KINDS) {
        const probe = c[kind] as IProbe | undefined;
        if (!probe) continue;
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
        if (port !== undefined && !declaresPort(c, port)) problems.push(`${cat}: ${kind} port ${port} is not a declared container port (${(c.ports ?? []).map((p) => `${p.name ?? ''}:${p.containerPort}`).join(', ') || 'none'})`);
        if (probe.httpGet) {
          const allowed = PROBE_PATHS[image]?.[kind] ?? [];
          if (!allowed.includes(probe.httpGet.path ?? '/')) problems.push(`${cat}: ${kind} GETs ${probe.httpGet.path ?? '/'}, but ${image} serves ${allowed.join(' or ') || 'no HTTP endpoint'} for it`);
        }
      }
      if (SERVING_IMAGES.includes(image as (typeof SERVING_IMAGES)[number])) {
        for (const kind of ['readinessProbe', 'livenessProbe'] as const) if (!c[kind]) problems.push(`${cat}: serves ${image}'s endpoints but has no ${kind}`);
      }
    }
    // SIGTERM handling needs time: rewardlab workloads say how much, and a preStop delay fits in it.
    if (containersOf(w.pod).some((c) => c.image?.startsWith('rewardlab/'))) {
      const grace = w.pod.terminationGracePeriodSeconds;
      if (grace === undefined) problems.push(`${at}: no terminationGracePeriodSeconds (the time SIGTERM handling gets)`);
      for (const c of containersOf(w.pod)) {
        const sleep = c.lifecycle?.preStop?.exec?.command?.join(' ').match(/setTimeout\(.*?(\d+)\)/)?.[1];
        if (sleep !== undefined && grace !== undefined && Number(sleep) / 1000 >= grace / 2) problems.push(`${at} container ${c.name}: the preStop delay of ${Number(sleep) / 1000} s leaves too little of the ${grace} s grace period for draining`);
      }
    }
  }

  // Services select pods, and their target ports are ports of those pods.
  for (const m of objects('Service')) {
    const spec = (m.doc.spec ?? {}) as { selector?: Record<string, string>; ports?: { name?: string; port: number; targetPort?: number | string }[]; clusterIP?: string };
    const selector = spec.selector ?? {};
    if (Object.keys(selector).length === 0) {
      problems.push(`${idOf(m)}: no selector`);
      continue;
    }
    const picked = workloads.filter((w) => selects(selector, w.podLabels));
    if (picked.length === 0) {
      problems.push(`${idOf(m)}: selector ${JSON.stringify(selector)} matches no workload's pod labels`);
      continue;
    }
    for (const p of spec.ports ?? []) {
      const target = p.targetPort ?? p.port;
      for (const w of picked) {
        const numbers = w.pod.containers.map((c) => containerPortNumber(c, target)).filter((n) => n !== undefined);
        if (numbers.length === 0) problems.push(`${idOf(m)}: port ${p.port} targets ${target}, which ${w.kind} ${w.name} does not declare`);
        // A headless Service's clients dial the pod addresses from DNS directly, with the Service's
        // port: no port mapping happens, so the two numbers must agree.
        else if (spec.clusterIP === 'None' && !numbers.includes(p.port)) problems.push(`${idOf(m)}: headless, so clients dial pods on port ${p.port}, but ${w.kind} ${w.name} listens on ${numbers.join(', ')}`);
      }
    }
  }

  // dns://SERVICE:PORT worker addresses name a headless Service of ready pods with that port.
  const dnsRefs = workloads.flatMap((w) => containersOf(w.pod).flatMap((c) => (c.args ?? []).flatMap((a) => [...a.matchAll(/dns:\/\/([a-z0-9-]+):(\d+)/g)].map((r) => ({ w, c, service: r[1]!, port: Number(r[2]) })))));
  if (dnsRefs.length === 0) problems.push('no trainer finds its workers through dns://SERVICE:PORT');
  for (const { w, c, service, port } of dnsRefs) {
    const at = `${idOf(w.m)} container ${c.name}`;
    const svc = objects('Service').find((m) => m.doc.metadata?.name === service);
    if (!svc) {
      problems.push(`${at}: dns://${service}:${port} names no Service`);
      continue;
    }
    const spec = svc.doc.spec as { clusterIP?: string; publishNotReadyAddresses?: boolean; ports?: { port: number }[] };
    if (spec.clusterIP !== 'None') problems.push(`${idOf(svc)}: dns://${service} needs a headless Service (clusterIP: None) to get one address per worker pod, not ${spec.clusterIP ?? 'a cluster IP'}`);
    if (spec.publishNotReadyAddresses) problems.push(`${idOf(svc)}: publishNotReadyAddresses would hand draining and starting workers to trainers`);
    if (!(spec.ports ?? []).some((p) => p.port === port)) problems.push(`${at}: dns://${service}:${port}, but Service ${service} has port ${(spec.ports ?? []).map((p) => p.port).join(', ')}`);
  }

  // The autoscaler targets a Deployment whose containers request what it measures.
  for (const m of objects('HorizontalPodAutoscaler')) {
    const spec = m.doc.spec as { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number; metrics?: { type: string; resource?: { name: string; target: { type: string } } }[] };
    const target = workloads.find((w) => w.kind === spec.scaleTargetRef.kind && w.name === spec.scaleTargetRef.name);
    if (!target) {
      problems.push(`${idOf(m)}: scaleTargetRef ${spec.scaleTargetRef.kind}/${spec.scaleTargetRef.name} names no workload in the manifests`);
      continue;
    }
    if ((spec.minReplicas ?? 1) > spec.maxReplicas) problems.push(`${idOf(m)}: minReplicas ${spec.minReplicas} > maxReplicas ${spec.maxReplicas}`);
    if ((target.m.doc.spec as { replicas?: number }).replicas !== undefined) problems.push(`${idOf(target.m)}: sets spec.replicas, which every kubectl apply would reset under its autoscaler`);
    for (const metric of spec.metrics ?? []) {
      if (metric.type !== 'Resource' || metric.resource?.target.type !== 'Utilization') continue;
      for (const c of target.pod.containers) if (c.resources?.requests?.[metric.resource.name] === undefined) problems.push(`${idOf(m)}: scales on ${metric.resource.name} utilisation, but container ${c.name} of ${target.name} requests no ${metric.resource.name}`);
    }
  }

  for (const m of objects('PodDisruptionBudget')) {
    const selector = (m.doc.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
    if (!workloads.some((w) => selects(selector, w.podLabels))) problems.push(`${idOf(m)}: selector ${JSON.stringify(selector)} matches no workload's pods`);
  }

  // Each contract image is deployed.
  const images = new Set(workloads.flatMap((w) => containersOf(w.pod).map((c) => c.image)));
  for (const image of Object.values(IMAGES)) if (!images.has(image)) problems.push(`no workload runs ${image}`);
  return problems;
}

// ---- the kustomization ----
interface Kustomization { apiVersion?: string; kind?: string; namespace?: string; resources?: string[]; components?: string[]; patches?: { path?: string; patch?: string; target?: { group?: string; version?: string; kind?: string; name?: string } }[]; [field: string]: unknown }

/** Kustomization fields (kustomize v5) that these files may use; anything else is a typo. */
const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'namespace', 'namePrefix', 'nameSuffix', 'labels', 'commonLabels', 'commonAnnotations', 'resources', 'components', 'patches', 'images', 'replicas', 'configMapGenerator', 'secretGenerator', 'generatorOptions']);

function readKustomization(file: string): Kustomization {
  const docs = parseManifests(readFileSync(file, 'utf8'), relative(K8S_DIR, file));
  if (docs.length !== 1) throw new Error(`${file}: ${docs.length} documents, expected one Kustomization`);
  return docs[0]!.doc as Kustomization;
}

/** The base: every manifest file of the folder, and nothing else, is a resource. */
function kustomizationProblems(k: Kustomization, files: string[], dirs: string[]): string[] {
  const problems: string[] = [];
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization') problems.push(`kustomization.yaml: apiVersion/kind ${k.apiVersion}/${k.kind}, expected kustomize.config.k8s.io/v1beta1 Kustomization`);
  for (const field of Object.keys(k)) if (!KUSTOMIZATION_FIELDS.has(field)) problems.push(`kustomization.yaml: unknown field ${field}`);
  if (k.namespace !== NAMESPACE) problems.push(`kustomization.yaml: namespace ${k.namespace}, expected ${NAMESPACE}`);
  const resources = k.resources ?? [];
  const top = files.filter((f) => !f.includes('/') && !isKustomization(f));
  for (const f of top) if (!resources.includes(f)) problems.push(`kustomization.yaml: ${f} is not listed in resources`);
  for (const r of resources) if (!top.includes(r)) problems.push(`kustomization.yaml: resource ${r} is not a manifest file of docker/k8s`);
  if (new Set(resources).size !== resources.length) problems.push('kustomization.yaml: a resource is listed twice');
  for (const c of k.components ?? []) if (!dirs.includes(c)) problems.push(`kustomization.yaml: component ${c} is not a folder of docker/k8s`);
  return problems;
}

/** The gpu component: its patches are its files, each aimed at a workload of the base. */
function gpuComponentProblems(k: Kustomization, files: string[], base: Manifest[], patches: Manifest[]): string[] {
  const problems: string[] = [];
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1alpha1' || k.kind !== 'Component') problems.push(`gpu/kustomization.yaml: apiVersion/kind ${k.apiVersion}/${k.kind}, expected kustomize.config.k8s.io/v1alpha1 Component`);
  for (const field of Object.keys(k)) if (!KUSTOMIZATION_FIELDS.has(field)) problems.push(`gpu/kustomization.yaml: unknown field ${field}`);
  const paths = (k.patches ?? []).map((p) => p.path);
  for (const f of files) if (!paths.includes(f)) problems.push(`gpu/kustomization.yaml: ${f} is not one of its patches`);
  for (const entry of k.patches ?? []) {
    const patch = patches.find((p) => p.file === `gpu/${entry.path}`);
    if (!patch) {
      problems.push(`gpu/kustomization.yaml: patch ${entry.path} is not a file of gpu/`);
      continue;
    }
    const t = entry.target ?? {};
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    const target = base.find((m) => m.doc.apiVersion === apiVersion && m.doc.kind === t.kind && m.doc.metadata?.name === t.name);
    if (!target) {
      problems.push(`gpu/kustomization.yaml: patch ${entry.path} targets ${apiVersion} ${t.kind}/${t.name}, which the base does not define`);
      continue;
    }
    if (patch.doc.kind !== t.kind || patch.doc.metadata?.name !== t.name) problems.push(`${idOf(patch)}: patches ${patch.doc.kind}/${patch.doc.metadata?.name} but its entry targets ${t.kind}/${t.name}`);
    const baseContainers = ((target.doc.spec as { template: { spec: IPodSpec } }).template.spec.containers);
    const patched = ((patch.doc.spec as { template?: { spec?: IPodSpec } }).template?.spec?.containers ?? []);
    if (patched.length === 0) problems.push(`${idOf(patch)}: patches no container`);
    for (const c of patched) {
      const original = baseContainers.find((b) => b.name === c.name);
      if (!original) {
        problems.push(`${idOf(patch)}: container ${c.name} is not a container of ${t.kind}/${t.name} (strategic merge would add a broken one)`);
        continue;
      }
      if (String(c.resources?.limits?.['nvidia.com/gpu']) !== '1') problems.push(`${idOf(patch)}: container ${c.name} gets no nvidia.com/gpu: 1 limit`);
      if (!(c.env ?? []).some((e) => e.name === 'NVIDIA_DRIVER_CAPABILITIES' && (e.value ?? '').split(',').includes('graphics'))) problems.push(`${idOf(patch)}: container ${c.name}: NVIDIA_DRIVER_CAPABILITIES lacks graphics (the Vulkan ICD that webgpu needs)`);
      // Strategic merge replaces args whole: the patch's list must be the base's, with only the backend changed.
      if (c.args) {
        const expected = (original.args ?? []).map((a, i, all) => (all[i - 1] === '--backend' ? 'webgpu' : a));
        if (JSON.stringify(c.args) !== JSON.stringify(expected)) problems.push(`${idOf(patch)}: container ${c.name}'s args ${JSON.stringify(c.args)} differ from the base's ${JSON.stringify(original.args)} in more than --backend webgpu`);
      }
    }
  }
  return problems;
}

/**
 * The part of strategic merge that the gpu patches use: maps merge key by key, lists of named items
 * (containers, env, volumes) merge by name, any other list (args, tolerations) is replaced. So that a
 * patch is validated as the object it produces, with or without kubectl.
 */
function strategicMerge(target: unknown, patch: unknown): unknown {
  const isMap = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const named = (xs: unknown[]): xs is { name: string }[] => xs.every((x) => isMap(x) && typeof x.name === 'string');
  if (Array.isArray(patch)) {
    if (!Array.isArray(target) || !named(target) || !named(patch)) return clone(patch);
    const out: unknown[] = clone(target);
    for (const item of patch) {
      const i = target.findIndex((t) => t.name === item.name);
      if (i >= 0) out[i] = strategicMerge(target[i], item);
      else out.push(clone(item));
    }
    return out;
  }
  if (isMap(patch) && isMap(target)) {
    const out: Record<string, unknown> = { ...target };
    for (const [k, v] of Object.entries(patch)) out[k] = k in target ? strategicMerge(target[k], v) : clone(v);
    return out;
  }
  return clone(patch);
}

/** The base with the gpu component's patches applied to their targets. */
function withGpuComponent(baseMs: Manifest[], k: Kustomization, patches: Manifest[]): Manifest[] {
  return baseMs.map((m) => {
    const entry = (k.patches ?? []).find((p) => p.target?.kind === m.doc.kind && p.target?.name === m.doc.metadata?.name);
    const patch = entry && patches.find((p) => p.file === `gpu/${entry.path}`);
    return patch ? { file: `${m.file} + ${patch.file}`, index: m.index, doc: strategicMerge(m.doc, patch.doc) as K8sObject } : m;
  });
}

// ---- the tests ----
let models: Map<string, ModelClass>;
let fields: FieldNameChecker;
let all: Manifest[];
let base: Manifest[];
let gpuPatches: Manifest[];
let gpuKustomization: Kustomization;
const validate = (ms: Manifest[]): string[] => ms.flatMap((m) => [...schemaProblems(models, m), ...fields.problems(m)]);
const find = (ms: Manifest[], kind: string, name: string): K8sObject => {
  const m = ms.find((x) => x.doc.kind === kind && x.doc.metadata?.name === name);
  if (!m) throw new Error(`no ${kind}/${name} in the manifests`);
  return m.doc;
};
// Typed views into a (cloned) manifest, for the tests that break one.
const podOf = (o: K8sObject): IPodSpec => (o.spec as { template: { spec: IPodSpec } }).template.spec;
const containerOf = (o: K8sObject, i = 0): IContainer => podOf(o).containers[i]!;

beforeAll(async () => {
  models = await loadModelRegistry();
  fields = new FieldNameChecker(models);
  all = loadManifests(K8S_DIR);
  base = all.filter((m) => !m.file.includes('/'));
  gpuPatches = all.filter((m) => m.file.startsWith('gpu/'));
  gpuKustomization = readKustomization(join(K8S_DIR, 'gpu', 'kustomization.yaml'));
});

describe('docker/k8s manifests', () => {
  it('are all there: sim workers, API, trainers, PostgreSQL, Redis', () => {
    const kinds = base.map((m) => `${m.doc.kind}/${m.doc.metadata?.name}`);
    expect(kinds).toEqual(expect.arrayContaining([
      'Namespace/rewardlab', 'Deployment/sim-worker', 'Service/sim-worker', 'HorizontalPodAutoscaler/sim-worker',
      'Deployment/rewardlab-api', 'Service/rewardlab-api', 'Secret/rewardlab-postgres', 'Secret/rewardlab-worker-token',
      'PersistentVolumeClaim/rewardlab-data', 'Deployment/trainer-agent', 'Job/trainer', 'StatefulSet/postgres', 'StatefulSet/redis',
    ]));
  });

  it('validate against the Kubernetes OpenAPI schemas (kubernetes-models), every document of every file', () => {
    expect(all.length).toBeGreaterThan(10);
    // A strategic-merge patch is a fragment (a Deployment patch has no selector), so a patch is
    // validated as what it makes of its target.
    const patched = withGpuComponent(base, gpuKustomization, gpuPatches).filter((m) => m.file.includes(' + '));
    expect(gpuPatches.filter((p) => !patched.some((m) => m.file.endsWith(` + ${p.file}`))).map(idOf)).toEqual([]);
    expect([...base, ...patched].flatMap((m) => schemaProblems(models, m))).toEqual([]);
  });

  it('use only field names that the Kubernetes schemas define', () => {
    expect(all.flatMap((m) => fields.problems(m))).toEqual([]);
  });

  it('agree with each other and with the contracts (selectors, ports, probes, autoscaler, secrets, security, images)', () => {
    expect(crossCheck(base)).toEqual([]);
  });

  it('are all listed in kustomization.yaml, which sets the rewardlab namespace', () => {
    const files = yamlFilesUnder(K8S_DIR);
    const dirs = readdirSync(K8S_DIR).filter((d) => statSync(join(K8S_DIR, d)).isDirectory());
    expect(kustomizationProblems(readKustomization(join(K8S_DIR, 'kustomization.yaml')), files, dirs)).toEqual([]);
    // Every folder is a kustomization (today: the gpu component), so no manifest lies outside one.
    for (const d of dirs) expect(existsSync(join(K8S_DIR, d, 'kustomization.yaml')), `${d}/ has no kustomization.yaml`).toBe(true);
  });

  it('keep the GPU out of the default manifests, in the gpu component that patches both trainers', () => {
    const containers = workloadsOf(base).flatMap((w) => containersOf(w.pod));
    expect(containers.filter((c) => c.resources?.limits?.['nvidia.com/gpu'] !== undefined).map((c) => c.name)).toEqual([]);
    const files = yamlFilesUnder(join(K8S_DIR, 'gpu')).filter((f) => !isKustomization(f));
    const k = gpuKustomization;
    expect(gpuComponentProblems(k, files, base, gpuPatches)).toEqual([]);
    expect((k.patches ?? []).map((p) => p.target?.name).sort()).toEqual(['trainer', 'trainer-agent']);
    const applied = withGpuComponent(base, k, gpuPatches);
    expect(crossCheck(applied)).toEqual([]);
    const gpus = workloadsOf(applied).flatMap((w) => w.pod.containers.filter((c) => String(c.resources?.limits?.['nvidia.com/gpu']) === '1').map((c) => `${w.kind}/${w.name}`));
    expect(gpus.sort()).toEqual(['Deployment/trainer-agent', 'Job/trainer']);
  });

  it('give the trainers and the workers the same worker token, and the trainers the workers\' address', () => {
    const tokenOf = (o: K8sObject): unknown => containerOf(o).env?.find((e) => e.name === 'REWARDLAB_WORKER_TOKEN')?.valueFrom?.secretKeyRef;
    const worker = tokenOf(find(base, 'Deployment', 'sim-worker'));
    expect(worker).toEqual({ name: 'rewardlab-worker-token', key: 'token' });
    expect(tokenOf(find(base, 'Job', 'trainer'))).toEqual(worker);
    expect(tokenOf(find(base, 'Deployment', 'trainer-agent'))).toEqual(worker);
    expect(argAfter(containerOf(find(base, 'Job', 'trainer')), '--workers')).toBe('dns://sim-worker:9100');
  });
});

describe.skipIf(!hasKubectl())('docker/k8s rendered by kubectl kustomize', () => {
  it('renders every object into the rewardlab namespace, and the rendered objects pass every check', () => {
    const rendered = kustomize(K8S_DIR);
    expect(rendered.filter((m) => m.doc.kind !== 'Namespace' && m.doc.metadata?.namespace !== NAMESPACE).map(idOf)).toEqual([]);
    expect(rendered).toHaveLength(base.length);
    expect(validate(rendered)).toEqual([]);
    expect(crossCheck(rendered)).toEqual([]);
  });

  it('renders with the gpu component: one GPU per trainer, webgpu for the Job, and every check still passes', () => {
    // An overlay of the user's kind (beside a copy, since kustomize refuses absolute and parent roots).
    const dir = mkdtempSync(join(tmpdir(), 'rewardlab-k8s-'));
    try {
      cpSync(K8S_DIR, join(dir, 'k8s'), { recursive: true });
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [k8s]\ncomponents: [k8s/gpu]\n');
      const rendered = kustomize(dir);
      expect(validate(rendered)).toEqual([]);
      expect(crossCheck(rendered)).toEqual([]);
      const gpus = workloadsOf(rendered).flatMap((w) => w.pod.containers.filter((c) => c.resources?.limits?.['nvidia.com/gpu'] !== undefined).map((c) => `${w.kind}/${w.name}`));
      expect(gpus.sort()).toEqual(['Deployment/trainer-agent', 'Job/trainer']);
      expect(argAfter(containerOf(find(rendered, 'Job', 'trainer')), '--backend')).toBe('webgpu');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function hasKubectl(): boolean {
  const ok = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  if (!ok) console.log('k8s-manifests: kubectl is not on PATH; skipping the rendered-kustomization checks');
  return ok;
}

function kustomize(dir: string): Manifest[] {
  const out = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`kubectl kustomize ${relative(process.cwd(), dir)} failed: ${out.stderr}`);
  return parseManifests(out.stdout, 'rendered');
}

describe('the checks reject broken manifests', () => {
  const broken = (kind: string, name: string, breakIt: (o: K8sObject) => void): Manifest[] => {
    const ms = clone(base);
    breakIt(find(ms, kind, name));
    return ms;
  };
  const rejects = (problems: string[], pattern: RegExp): void => expect(problems).toContainEqual(expect.stringMatching(pattern));

  it('a containerPort given as a string', () => {
    const ms = broken('Deployment', 'sim-worker', (o) => { (containerOf(o).ports![0] as { containerPort: unknown }).containerPort = '9100'; });
    rejects(validate(ms), /sim-worker: .*containerPort must be integer/);
  });

  it('a Deployment without a selector', () => {
    const ms = broken('Deployment', 'rewardlab-api', (o) => { delete (o.spec as { selector?: unknown }).selector; });
    rejects(validate(ms), /Deployment\/rewardlab-api: .*must have required property '?selector/);
  });

  it('a kind that no Kubernetes model knows', () => {
    const ms = broken('Deployment', 'sim-worker', (o) => { o.kind = 'Deploymnet'; });
    rejects(validate(ms), /no Kubernetes model for apiVersion apps\/v1 kind Deploymnet/);
  });

  it('a misspelt field, which the open OpenAPI schema alone would accept', () => {
    const ms = broken('Deployment', 'sim-worker', (o) => {
      const c = containerOf(o) as unknown as Record<string, unknown>;
      c.readinesProbe = c.readinessProbe;
      delete c.readinessProbe;
    });
    expect(ms.flatMap((m) => schemaProblems(models, m))).toEqual([]);
    rejects(validate(ms), /spec\.template\.spec\.containers\[0\]\.readinesProbe: unknown field \(did you mean readinessProbe\?\)/);
    rejects(crossCheck(ms), /container sim-worker: serves .* but has no readinessProbe/);
    const british = broken('HorizontalPodAutoscaler', 'sim-worker', (o) => {
      const target = (o.spec as { metrics: { resource: { target: Record<string, unknown> } }[] }).metrics[0]!.resource.target;
      target.averageUtilisation = target.averageUtilization;
      delete target.averageUtilization;
    });
    rejects(validate(british), /spec\.metrics\[0\]\.resource\.target\.averageUtilisation: unknown field \(did you mean averageUtilization\?\)/);
  });

  it('a probe on an undeclared port, and one on a path the process does not serve', () => {
    rejects(crossCheck(broken('Deployment', 'sim-worker', (o) => { containerOf(o).livenessProbe!.httpGet!.port = 9200; })), /livenessProbe port 9200 is not a declared container port/);
    rejects(crossCheck(broken('Deployment', 'rewardlab-api', (o) => { containerOf(o).startupProbe!.httpGet!.port = 'web'; })), /startupProbe port web is not a declared container port/);
    rejects(crossCheck(broken('Deployment', 'sim-worker', (o) => { containerOf(o).readinessProbe!.httpGet!.path = '/healthz'; })), /readinessProbe GETs \/healthz, but rewardlab\/sim-worker:0.1.0 serves \/readyz/);
  });

  it('a Service whose selector matches no pods, or whose target port the pods lack', () => {
    rejects(crossCheck(broken('Service', 'rewardlab-api', (o) => { (o.spec as { selector: Record<string, string> }).selector['app.kubernetes.io/name'] = 'api'; })), /Service\/rewardlab-api: selector .* matches no workload's pod labels/);
    rejects(crossCheck(broken('Service', 'rewardlab-api', (o) => { (o.spec as { ports: { targetPort: unknown }[] }).ports[0]!.targetPort = 8080; })), /Service\/rewardlab-api: port 80 targets 8080, which Deployment rewardlab-api does not declare/);
  });

  it('a worker Service that is not headless, or whose port differs from the workers\' and the trainer\'s', () => {
    rejects(crossCheck(broken('Service', 'sim-worker', (o) => { delete (o.spec as { clusterIP?: string }).clusterIP; })), /dns:\/\/sim-worker needs a headless Service/);
    const moved = broken('Service', 'sim-worker', (o) => { (o.spec as { ports: { port: number }[] }).ports[0]!.port = 9101; });
    rejects(crossCheck(moved), /headless, so clients dial pods on port 9101, but Deployment sim-worker listens on 9100/);
    rejects(crossCheck(moved), /Job\/trainer container trainer: dns:\/\/sim-worker:9100, but Service sim-worker has port 9101/);
    rejects(crossCheck(broken('Deployment', 'sim-worker', (o) => { containerOf(o).args = containerOf(o).args!.map((a) => (a === '9100' ? '9200' : a)); })), /listens on --port 9200, which is not a declared containerPort/);
  });

  it('an autoscaler aimed at a missing Deployment, or at containers without cpu requests', () => {
    rejects(crossCheck(broken('HorizontalPodAutoscaler', 'sim-worker', (o) => { (o.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name = 'sim-workers'; })), /scaleTargetRef Deployment\/sim-workers names no workload/);
    rejects(crossCheck(broken('Deployment', 'sim-worker', (o) => { delete containerOf(o).resources!.requests!.cpu; })), /scales on cpu utilisation, but container sim-worker of sim-worker requests no cpu/);
    rejects(crossCheck(broken('Deployment', 'sim-worker', (o) => { (o.spec as { replicas?: number }).replicas = 2; })), /sets spec.replicas, which every kubectl apply would reset/);
  });

  it('a secretKeyRef or configMapKeyRef to a key that no manifest defines', () => {
    rejects(crossCheck(broken('Deployment', 'rewardlab-api', (o) => { containerOf(o).env![0]!.valueFrom!.secretKeyRef!.key = 'DATABASE_URI'; })), /env DATABASE_URL reads key DATABASE_URI of Secret rewardlab-postgres, which has no such key/);
    rejects(crossCheck(broken('ConfigMap', 'rewardlab-config', (o) => { delete (o.data as Record<string, string>).REDIS_URL; })), /env REDIS_URL reads key REDIS_URL of ConfigMap rewardlab-config, which has no such key/);
    rejects(crossCheck(broken('Deployment', 'trainer-agent', (o) => { containerOf(o).env = containerOf(o).env!.filter((e) => e.name !== 'REDIS_URL'); })), /argument \$\(REDIS_URL\) refers to \$\(REDIS_URL\), which the container's env does not define/);
  });

  it('a container that runs as root, escalates, or has no resource limits', () => {
    rejects(crossCheck(broken('Job', 'trainer', (o) => { podOf(o).securityContext!.runAsUser = 0; })), /Job\/trainer container trainer: runAsUser 0/);
    rejects(crossCheck(broken('StatefulSet', 'redis', (o) => { delete podOf(o).securityContext!.runAsNonRoot; })), /StatefulSet\/redis container redis: runAsNonRoot is not true/);
    rejects(crossCheck(broken('Deployment', 'rewardlab-api', (o) => { containerOf(o).securityContext!.allowPrivilegeEscalation = true; })), /allowPrivilegeEscalation is not false/);
    rejects(crossCheck(broken('Deployment', 'trainer-agent', (o) => { delete containerOf(o).resources!.limits; })), /container trainer-agent: no resources.limits.cpu/);
  });

  it('an image other than the contract images, or one running the wrong subcommand', () => {
    rejects(crossCheck(broken('Deployment', 'sim-worker', (o) => { containerOf(o).image = 'rewardlab/sim-worker:latest'; })), /image rewardlab\/sim-worker:latest is not one of the contract images/);
    rejects(crossCheck(broken('Deployment', 'rewardlab-api', (o) => { containerOf(o).image = IMAGES.trainer; })), /image rewardlab\/trainer:0.1.0 runs `serve`/);
    rejects(crossCheck(broken('StatefulSet', 'postgres', (o) => { containerOf(o).image = 'postgres:latest'; })), /image postgres:latest is neither a contract image/);
  });

  it('a kustomization that leaves a manifest out or lists a missing one, and a GPU patch aimed at nothing', () => {
    const k = readKustomization(join(K8S_DIR, 'kustomization.yaml'));
    const files = yamlFilesUnder(K8S_DIR);
    rejects(kustomizationProblems({ ...k, resources: k.resources!.filter((r) => r !== 'api.yaml') }, files, ['gpu']), /api.yaml is not listed in resources/);
    rejects(kustomizationProblems({ ...k, resources: [...k.resources!, 'ingress.yaml'] }, files, ['gpu']), /resource ingress.yaml is not a manifest file/);
    rejects(kustomizationProblems({ ...k, namespace: undefined }, files, ['gpu']), /namespace undefined, expected rewardlab/);
    const gpu = readKustomization(join(K8S_DIR, 'gpu', 'kustomization.yaml'));
    const gpuFiles = yamlFilesUnder(join(K8S_DIR, 'gpu')).filter((f) => !isKustomization(f));
    const retargeted = { ...gpu, patches: gpu.patches!.map((p) => ({ ...p, target: { ...p.target, name: `${p.target!.name}-x` } })) };
    rejects(gpuComponentProblems(retargeted, gpuFiles, base, gpuPatches), /targets batch\/v1 Job\/trainer-x, which the base does not define/);
    const drifted = clone(gpuPatches);
    containerOf(drifted.find((m) => m.doc.kind === 'Job')!.doc).args!.push('--seed', '7');
    rejects(gpuComponentProblems(gpu, gpuFiles, base, drifted), /args .* differ from the base's .* in more than --backend webgpu/);
  });
});
