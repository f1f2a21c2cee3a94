#!/usr/bin/env python3
"""Offline validation of RecRL's deployment artefacts (no cluster, no Docker daemon).

Run through `make validate-deploy`, which installs deploy/requirements.txt into .venv-deploy/.
Checks, each printed with its outcome:

1. hadolint: the Dockerfile lints clean.
2. kustomize: every kustomization in KUSTOMIZATIONS renders with the built-in renderer below
   (the subset of kustomize these manifests use; anything else is an error). When `kubectl` is
   on PATH, `kubectl kustomize` renders each one too and the two must give the same objects.
3. schemas: every rendered object, plus the standalone manifests in STANDALONE, validates:
   built-in kinds with kubernetes-validate (Kubernetes KUBERNETES_VERSION, strict: unknown fields
   fail), custom resources with jsonschema against deploy/schemas/ (unknown fields fail, as with
   the API server's strict field validation).
4. consistency: Services, HPAs and PDBs select the Deployment's pods; referenced ConfigMaps,
   Secrets and PVCs exist (or are created out of band, OUT_OF_BAND); probes use the V2 health
   routes; pods run as non-root on a read-only root filesystem; every recrl_* metric that the
   alerts and the dashboard query is one the server exports (or is listed in PENDING_METRICS);
   the Katib experiment's parameters mirror deploy/kubeflow/tune-space.json.
5. kfp: deploy/kubeflow/pipeline.py recompiles to the committed pipeline.yaml.
6. command lines: every recrl subcommand and flag that the manifests, the Katib trial and the
   pipeline's steps call appears in a built recrl binary's --help.
7. runtime libraries: deploy/check-runtime-libs.sh on a built recrl binary.
6 and 7 run when a binary exists (RECRL_BINARY, else .build/{release,debug}/recrl); they are
skipped (and say so) otherwise.

Exit status 0 when everything passed, 1 otherwise.
"""
import copy
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY / "schemas"))
from extract import map_schema  # noqa: E402 (the schema walker the vendored schemas were made with)
K8S = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.33.0"
KUSTOMIZATIONS = ["base", "overlays/dev", "overlays/production", "overlays/scale-out", "kserve", "kserve/cluster", "monitoring"]
STANDALONE = ["kubeflow/katib-experiment.yaml", "kubeflow/rbac.yaml"]
CRD_SCHEMAS = {
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): "kserve/servingruntime-v1alpha1.json",
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"): "kserve/clusterservingruntime-v1alpha1.json",
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve/inferenceservice-v1beta1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "prometheus-operator/servicemonitor-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheus-operator/prometheusrule-v1.json",
    ("kubeflow.org/v1beta1", "Experiment"): "katib/experiment-v1beta1.json",
}
CLUSTER_SCOPED = {"Namespace", "ClusterServingRuntime", "ClusterRole", "ClusterRoleBinding",
                  "PersistentVolume", "StorageClass", "CustomResourceDefinition", "PriorityClass"}
# Objects the manifests reference but deliberately do not contain: (kind, name).
OUT_OF_BAND = {("Secret", "recrl-api-key"): "created by the operator (production overlay comment)",
               ("Secret", "recrl-postgres"): "created by the operator (scale-out overlay comment)",
               ("PersistentVolumeClaim", "recrl-registry"): "created by the base/production overlay"}
# Metric names the alerts/dashboard may query before the server exports them (none today).
PENDING_METRICS = set()

failures = []
passes = []


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what)
    (passes if ok else failures).append(what)
    return ok


def section(title):
    print(f"\n== {title}")


# ---------------------------------------------------------------------------------------------
# A kustomize subset: resources (files and folders), namespace, images, patches (strategic merge
# by kind and name), configMapGenerator (files, options.labels, disableNameSuffixHash).

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches", "configMapGenerator"}
# Strategic-merge keys of the built-in list fields the patches touch; other lists are replaced.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
              "volumeMounts": "mountPath", "ports": "containerPort", "imagePullSecrets": "name",
              "topologySpreadConstraints": "topologyKey"}


def load_yaml_docs(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def strategic_merge(base, patch):
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif key in out and isinstance(value, dict):
            out[key] = strategic_merge(out[key], value)
        elif key in out and isinstance(value, list) and key in MERGE_KEYS and all(isinstance(v, dict) for v in value):
            merge_key = MERGE_KEYS[key]
            merged = copy.deepcopy(out[key])
            for item in value:
                match = [i for i, m in enumerate(merged) if m.get(merge_key) == item.get(merge_key)]
                if match:
                    merged[match[0]] = strategic_merge(merged[match[0]], item)
                else:
                    merged.append(copy.deepcopy(item))
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_images(node, images):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for c in value:
                    name = re.split(r"[:@]", c.get("image", ""), maxsplit=1)[0] if "image" in c else None
                    for img in images:
                        if name == img["name"]:
                            c["image"] = img.get("newName", name) + (":" + img["newTag"] if "newTag" in img else "")
            set_images(value, images)
    elif isinstance(node, list):
        for v in node:
            set_images(v, images)


def render(directory):
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(k) - KUSTOMIZATION_KEYS
    if unknown:
        raise ValueError(f"{directory}: kustomization fields the offline renderer does not support: {sorted(unknown)}")
    objects = []
    for r in k.get("resources", []):
        path = (directory / r).resolve()
        objects += render(path) if path.is_dir() else load_yaml_docs(path)
    for gen in k.get("configMapGenerator", []):
        options = gen.get("options", {})
        if not options.get("disableNameSuffixHash") or set(gen) - {"name", "files", "options"}:
            raise ValueError(f"{directory}: configMapGenerator {gen['name']}: only files with disableNameSuffixHash are supported")
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]},
              "data": {pathlib.Path(f).name: (directory / f).read_text() for f in gen["files"]}}
        if options.get("labels"):
            cm["metadata"]["labels"] = dict(options["labels"])
        objects.append(cm)
    for p in k.get("patches", []):
        if set(p) != {"path"}:
            raise ValueError(f"{directory}: only patches with a path are supported")
        patch = yaml.safe_load((directory / p["path"]).read_text())
        targets = [i for i, o in enumerate(objects)
                   if o["kind"] == patch["kind"] and o["metadata"]["name"] == patch["metadata"]["name"]]
        if len(targets) != 1:
            raise ValueError(f"{directory}: patch {p['path']} matches {len(targets)} objects")
        objects[targets[0]] = strategic_merge(objects[targets[0]], patch)
    if "namespace" in k:
        for o in objects:
            if o["kind"] not in CLUSTER_SCOPED:
                o["metadata"]["namespace"] = k["namespace"]
    if "images" in k:
        for o in objects:
            set_images(o, k["images"])
    return objects


def identity(o):
    return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])


# ---------------------------------------------------------------------------------------------

def strict_schema(schema):
    """Rejects unknown fields where a subschema lists properties (the API server's strict mode)."""
    def strict(node):
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            return {**node, "additionalProperties": False}
        return node
    return map_schema(schema, strict)


def validate_object(o, schemas):
    """(passed, what was checked and the first errors)."""
    key = (o["apiVersion"], o["kind"])
    if key in CRD_SCHEMAS:
        validator = schemas.get(key)
        if validator is None:
            validator = schemas[key] = jsonschema.Draft7Validator(
                strict_schema(json.loads((DEPLOY / "schemas" / CRD_SCHEMAS[key]).read_text())))
        errors = sorted(validator.iter_errors(o), key=lambda e: list(e.absolute_path))
        detail = "; ".join(f"{'.'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in errors[:3])
        return not errors, f"deploy/schemas/{CRD_SCHEMAS[key]}" + (f" -> {detail}" if errors else "")
    try:
        kubernetes_validate.validate(o, KUBERNETES_VERSION, strict=True)
        return True, f"Kubernetes {KUBERNETES_VERSION} (strict)"
    except Exception as e:  # ValidationError, SchemaNotFoundError, InvalidSchemaError
        return False, f"Kubernetes {KUBERNETES_VERSION} -> {type(e).__name__}: {str(e).splitlines()[0][:200]}"


def check_object(o, where, schemas):
    ok, detail = validate_object(o, schemas)
    check(ok, f"{o['kind']}/{o['metadata']['name']} ({where}): {detail}")


def pod_spec(o):
    return o["spec"]["template"]["spec"]


def consistency(where, objects):
    by = {}
    for o in objects:
        by.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    for dep in by.get("Deployment", {}).values():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        selects = lambda sel: all(labels.get(k) == v for k, v in sel.items())  # noqa: E731
        check(selects(dep["spec"]["selector"]["matchLabels"]), f"{where}: Deployment {dep['metadata']['name']} selector matches its pods")
        # Services and PDBs select the serving pods (component "server") and no other
        # Deployment's pods (the learner of the scale-out overlay takes no traffic).
        serving = labels.get("app.kubernetes.io/component") == "server"
        for svc in by.get("Service", {}).values():
            if "selector" not in svc["spec"]:
                continue  # ExternalName: no pods
            check(selects(svc["spec"]["selector"]) == serving,
                  f"{where}: Service {svc['metadata']['name']} {'selects' if serving else 'does not select'} the pods of {dep['metadata']['name']}")
        for pdb in by.get("PodDisruptionBudget", {}).values():
            check(selects(pdb["spec"]["selector"]["matchLabels"]) == serving,
                  f"{where}: PDB {pdb['metadata']['name']} {'selects' if serving else 'does not select'} the pods of {dep['metadata']['name']}")
        spec = pod_spec(dep)
        check(spec.get("securityContext", {}).get("runAsNonRoot") is True, f"{where}: pods run as non-root")
        for c in spec["containers"]:
            check(c.get("securityContext", {}).get("readOnlyRootFilesystem") is True, f"{where}: container {c['name']} has a read-only root filesystem")
            check(c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
                  and c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready",
                  f"{where}: container {c['name']} probes /v2/health/live and /v2/health/ready")
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            check("/tmp" in mounts, f"{where}: container {c['name']} has a writable /tmp volume")
            refs = [("ConfigMap", e["configMapRef"]["name"]) for e in c.get("envFrom", []) if "configMapRef" in e]
            refs += [("Secret", e["valueFrom"]["secretKeyRef"]["name"]) for e in c.get("env", [])
                     if "secretKeyRef" in e.get("valueFrom", {})]
            refs += [("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]) for v in spec.get("volumes", [])
                     if "persistentVolumeClaim" in v]
            for kind, name in refs:
                present = name in by.get(kind, {})
                check(present or (kind, name) in OUT_OF_BAND,
                      f"{where}: {kind} {name} " + ("is rendered" if present else f"is out of band: {OUT_OF_BAND.get((kind, name), 'MISSING')}"))
    for hpa in by.get("HorizontalPodAutoscaler", {}).values():
        target = hpa["spec"]["scaleTargetRef"]
        check(target["name"] in by.get(target["kind"], {}), f"{where}: HPA {hpa['metadata']['name']} targets an existing {target['kind']}")


def exported_metrics():
    """recrl_* names the server's sources write, plus recrl_engine_<statistic> gauges."""
    text = "\n".join(p.read_text() for p in (ROOT / "Sources" / "RecRLServer").rglob("*.swift"))
    names = set(re.findall(r'"(recrl_[a-z0-9_]*[a-z0-9])"', text))
    stats = set(re.findall(r'^\s*"([a-z_]+)": Double\(', text, re.M))
    return names | {"recrl_engine_" + s for s in stats}


def metric_names_used(text):
    used = set()
    for m in re.findall(r"\brecrl_[a-z0-9_]*[a-z0-9]", text):
        used.add(re.sub(r"_(bucket|sum|count)$", "", m))
    return used


def check_metrics():
    exported = exported_metrics()
    texts = {"PrometheusRule": (K8S / "monitoring" / "prometheusrule.yaml").read_text(),
             "Grafana dashboard": (K8S / "monitoring" / "recrl-dashboard.json").read_text()}
    json.loads(texts["Grafana dashboard"])
    for where, text in texts.items():
        for name in sorted(metric_names_used(text)):
            if name in exported:
                check(True, f"{where}: {name} is exported by the server")
            elif name in PENDING_METRICS:
                print(f"  note  {where}: {name} is pending (the server does not export it yet)")
            else:
                check(False, f"{where}: {name} is neither exported by the server nor listed as pending")
    for name in sorted(PENDING_METRICS & exported):
        print(f"  note  {name} is exported now: remove it from PENDING_METRICS")


def check_katib(experiment):
    space = json.loads((DEPLOY / "kubeflow" / "tune-space.json").read_text())
    params = {p["name"]: p for p in experiment["spec"]["parameters"]}
    check(set(params) == set(space), f"Katib parameters {sorted(params)} == tune-space.json keys")
    for name, s in space.items():
        p = params.get(name)
        if not p:
            continue
        fs = p["feasibleSpace"]
        same = (p["parameterType"] == s["type"] and float(fs["min"]) == float(s["min"]) and float(fs["max"]) == float(s["max"])
                and (fs.get("distribution") == "logUniform") == (s.get("scale") == "log"))
        check(same, f"Katib parameter {name} mirrors tune-space.json (type, bounds, scale)")
    command = experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"]
    check(command[:2] == ["recrl", "tune"] and "--trial" in command
          and all(f"{n}=${{trialParameters.{n}}}" in command for n in space), "Katib trial runs recrl tune --trial with every parameter")
    check(experiment["spec"]["objective"]["objectiveMetricName"] == "ndcg@10"
          and re.fullmatch(experiment["spec"]["metricsCollectorSpec"]["source"]["filter"]["metricsFormat"][0],
                           "ndcg@10=0.1234") is not None,
          "Katib objective ndcg@10 and its StdOut filter parses 'ndcg@10=0.1234'")


def recrl_command_lines(containers):
    """(subcommand words, flag names) of every recrl invocation in containers (dicts with image,
    command, args): the image's entrypoint (args only), `recrl ...` as the command, or `recrl ...`
    inside a `bash -c` script."""
    found = []

    def parse(tokens):
        words, flags = [], []
        for t in tokens:
            t = str(t)
            if t.startswith("--"):
                flags.append(t.split("=", 1)[0])
            elif not flags and re.fullmatch(r"[a-z][a-z-]*", t):
                words.append(t)
            elif not flags and words:
                # A positional argument (e.g. the version of `models promote`) ends the words.
                words.append(None)
        return [w for w in words if w], flags

    for c in containers:
        if "recrl" not in str(c.get("image", "")):
            continue
        command, args = [str(x) for x in c.get("command") or []], [str(x) for x in c.get("args") or []]
        if not command:
            found.append(parse(args))
        elif command[0] == "recrl":
            found.append(parse(command[1:] + args))
        elif command[:2] == ["bash", "-c"] and args:
            for segment in re.split(r"[;|&]+", args[0]):
                tokens = segment.replace('"', " ").split()
                if "recrl" in tokens:
                    found.append(parse(tokens[tokens.index("recrl") + 1:]))
    return found


def check_command_lines(binary, rendered, standalone, pipeline_spec):
    """Every recrl subcommand and flag the manifests, the Katib trial and the pipeline call exists
    in the built binary's --help."""
    containers = []
    for objs in list(rendered.values()) + [list(standalone.values())]:
        for o in objs:
            stack = [o]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    if "image" in node and ("args" in node or "command" in node):
                        containers.append(node)
                    stack.extend(node.values())
                elif isinstance(node, list):
                    stack.extend(node)
    containers += [e["container"] for e in pipeline_spec["deploymentSpec"]["executors"].values()]
    seen = {}
    for words, flags in recrl_command_lines(containers):
        seen.setdefault(tuple(words), set()).update(flags)
    for words, flags in sorted(seen.items()):
        r = subprocess.run([binary, *words, "--help"], capture_output=True, text=True)
        missing = sorted(f for f in flags if not re.search(re.escape(f) + r"\b", r.stdout))
        check(r.returncode == 0 and words and not missing,
              f"recrl {' '.join(words)} exists with {', '.join(sorted(flags)) or 'no flags'}"
              + (f" (missing: {', '.join(missing)})" if missing else ""))


def main():
    venv_bin = pathlib.Path(sys.executable).parent

    section("hadolint (Dockerfile)")
    hadolint = shutil.which("hadolint", path=str(venv_bin)) or shutil.which("hadolint")
    r = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    check(r.returncode == 0 and not r.stdout.strip(), f"hadolint {r.stdout.strip() or 'clean'}")

    section(f"kustomize render ({'built-in renderer, cross-checked with kubectl kustomize' if shutil.which('kubectl') else 'built-in renderer; kubectl not on PATH, no cross-check'})")
    rendered = {}
    for k in KUSTOMIZATIONS:
        try:
            objs = render(K8S / k)
        except Exception as e:
            check(False, f"{k}: {e}")
            continue
        rendered[k] = objs
        check(len(objs) > 0, f"{k}: {len(objs)} objects: " + ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objs))
        if shutil.which("kubectl"):
            r = subprocess.run(["kubectl", "kustomize", str(K8S / k)], capture_output=True, text=True)
            if check(r.returncode == 0, f"{k}: kubectl kustomize renders it"):
                theirs = {identity(o): o for o in yaml.safe_load_all(r.stdout) if o}
                ours = {identity(o): o for o in objs}
                diff = sorted(str(i) for i in set(theirs) | set(ours) if theirs.get(i) != ours.get(i))
                check(not diff, f"{k}: built-in renderer == kubectl kustomize" + (f" (differs: {diff})" if diff else ""))

    section(f"schemas (built-in kinds: kubernetes-validate {kubernetes_validate.__version__ if hasattr(kubernetes_validate, '__version__') else ''} for Kubernetes {KUBERNETES_VERSION}, strict; custom resources: deploy/schemas with jsonschema, strict)")
    schemas = {}
    for k, objs in rendered.items():
        for o in objs:
            check_object(o, k, schemas)
    standalone = {}
    for f in STANDALONE:
        for o in load_yaml_docs(DEPLOY / f):
            standalone[(o["kind"], o["metadata"]["name"])] = o
            check_object(o, f, schemas)
    # Negative controls: a misspelt field must be rejected, so the validators are not vacuous.
    controls = [(rendered["base"], "Deployment", ["spec", "template", "spec", "containers", 0], "livenesProbe"),
                (rendered["kserve"], "ServingRuntime", ["spec", "containers", 0], "readinesProbe"),
                (rendered["kserve"], "InferenceService", ["spec", "predictor", "model"], "storageURI"),
                (rendered["monitoring"], "PrometheusRule", ["spec", "groups", 0], "rule"),
                ([standalone[("Experiment", "recrl-drr-ave-tune")]], "Experiment", ["spec", "objective"], "objectiveMetric")]
    for objs, kind, path, field in controls:
        bad = copy.deepcopy(next(o for o in objs if o["kind"] == kind))
        node = bad
        for p in path:
            node = node[p]
        node[field] = "typo"
        ok, detail = validate_object(bad, schemas)
        check(not ok and field in detail, f"negative control: {kind} with a misspelt field '{field}' is rejected ({detail[:140]})")

    section("consistency")
    for k, objs in rendered.items():
        consistency(k, objs)
    check_metrics()
    check_katib(standalone[("Experiment", "recrl-drr-ave-tune")])

    section("KFP pipeline (deploy/kubeflow/pipeline.py -> pipeline.yaml)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "RECRL_PIPELINE_IMAGE"}
        out = pathlib.Path(tmp) / "pipeline.yaml"
        r = subprocess.run([sys.executable, str(DEPLOY / "kubeflow" / "pipeline.py"), "--output", str(out)],
                           capture_output=True, text=True, env=env)
        if check(r.returncode == 0, "pipeline.py compiles" + (f": {r.stderr[-500:]}" if r.returncode else "")):
            committed = (DEPLOY / "kubeflow" / "pipeline.yaml").read_text()
            check(out.read_text() == committed, "the compiled pipeline equals the committed deploy/kubeflow/pipeline.yaml"
                  " (else: python3 deploy/kubeflow/pipeline.py and commit)")
            spec = next(yaml.safe_load_all(committed))
            execs = spec["deploymentSpec"]["executors"]
            check(all(e["container"]["image"] for e in execs.values()), f"{len(execs)} container steps, all with an image")

    candidates = [os.environ.get("RECRL_BINARY", "")] + [str(ROOT / ".build" / c / "recrl") for c in ("release", "debug")]
    binary = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    section("recrl command lines (manifests, Katib trial, pipeline steps against the built binary's --help)")
    if binary:
        check_command_lines(binary, rendered, standalone,
                            next(yaml.safe_load_all((DEPLOY / "kubeflow" / "pipeline.yaml").read_text())))
    else:
        print("  skip  no recrl binary (set RECRL_BINARY or build .build/release/recrl)")

    section("runtime libraries (deploy/check-runtime-libs.sh)")
    script = str(DEPLOY / "check-runtime-libs.sh")
    if binary and shutil.which("dpkg") and shutil.which("apt-cache"):
        r = subprocess.run([script, binary], capture_output=True, text=True)
        print("\n".join("        " + line for line in r.stdout.strip().splitlines()))
        check(r.returncode == 0, f"every library {binary} links comes from a runtime-stage package"
              + (f" {r.stderr.strip()}" if r.returncode else ""))
        # Negative control: without libsqlite3-0 in the runtime stage the check must fail.
        with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile") as f:
            f.write("".join(line for line in (ROOT / "Dockerfile").read_text().splitlines(True)
                            if line.strip() != "libsqlite3-0 \\"))
            f.flush()
            r = subprocess.run([script, binary], capture_output=True, text=True, env={**os.environ, "DOCKERFILE": f.name})
            check(r.returncode == 1 and "UNCOVERED libsqlite3.so.0" in r.stdout,
                  "negative control: a runtime stage without libsqlite3-0 is reported (UNCOVERED libsqlite3.so.0)")
    else:
        print("  skip  no recrl binary (set RECRL_BINARY or build .build/release/recrl) or no dpkg/apt-cache")

    for f in failures:
        print(f"FAILED: {f}")
    print(f"\nvalidate-deploy: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
