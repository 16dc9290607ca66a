// Validates every manifest a kustomization lists, and the Prometheus Operator parts of the
// kube-prometheus-stack and exporter-chart values, against the published OpenAPI schemas of Kubernetes and of the
// Prometheus Operator CRDs (kubernetes-models and @kubernetes-models/prometheus-operator, whose
// classes carry those schemas). Usage: node validate.mjs DIR
// Prints one line per object; exits 1 when any object fails, 2 on a file it cannot read.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node validate.mjs DIR");
  process.exit(2);
}

// apiVersion -> the module holding its classes, one class per kind.
function moduleOf(apiVersion) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  }
  return `kubernetes-models/${apiVersion}`;
}

async function classOf(apiVersion, kind) {
  const mod = await import(moduleOf(apiVersion));
  const cls = mod[kind];
  if (!cls) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return cls;
}

function docs(path) {
  return parseAllDocuments(readFileSync(path, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${path}: ${d.errors[0].message}`);
    return d.toJS();
  });
}

let failed = 0;
let checked = 0;
function check(label, make) {
  try {
    make().validate();
    checked += 1;
    console.log(`ok    ${label}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL  ${label}: ${e.message}`);
  }
}

const [kustomization] = docs(join(dir, "kustomization.yaml"));
for (const resource of kustomization.resources) {
  for (const object of docs(join(dir, resource))) {
    let cls;
    try {
      cls = await classOf(object.apiVersion, object.kind);
    } catch (e) {
      failed += 1;
      console.log(`FAIL  ${resource}: ${e.message}`);
      continue;
    }
    check(`${resource} (${object.apiVersion} ${object.kind} ${object.metadata?.name})`, () => new cls(object));
  }
}

// The values files are no objects, but the Operator specs inside them are.
const [values] = docs(join(dir, "values/kube-prometheus-stack.yaml"));
const v1 = await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1");
check("values/kube-prometheus-stack.yaml prometheus.prometheusSpec (PrometheusSpec)", () =>
  new v1.Prometheus({ metadata: { name: "values" }, spec: values.prometheus.prometheusSpec }));
check("values/kube-prometheus-stack.yaml alertmanager.alertmanagerSpec (AlertmanagerSpec)", () =>
  new v1.Alertmanager({ metadata: { name: "values" }, spec: values.alertmanager.alertmanagerSpec }));

// The exporter charts build their ServiceMonitor from the values' serviceMonitor: its labels
// and endpoint fields are checked as the ServiceMonitor the chart renders.
for (const chart of ["prometheus-postgres-exporter", "prometheus-redis-exporter"]) {
  const path = join(dir, `values/${chart}.yaml`);
  if (!existsSync(path)) continue;
  const [chartValues] = docs(path);
  const sm = chartValues.serviceMonitor;
  check(`values/${chart}.yaml serviceMonitor (ServiceMonitor)`, () =>
    new v1.ServiceMonitor({
      metadata: { name: chart, labels: sm.labels },
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": chart } },
        endpoints: [{ port: "http", interval: sm.interval, relabelings: sm.relabelings }],
      },
    }));
}

console.log(`${checked} objects valid, ${failed} invalid`);
process.exit(failed ? 1 : 0);
