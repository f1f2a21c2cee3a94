#!/usr/bin/env python3
"""Extracts the JSON schemas of the custom resources RecRL's manifests use from the upstream
repositories, at pinned tags, into deploy/schemas/<project>/ (see README.md).

    python3 deploy/schemas/extract.py --kserve GITDIR --katib GITDIR --prometheus-operator GITDIR

Each GITDIR is a clone (bare is fine) that has the tag named in SOURCES. The schemas keep every
constraint and drop only what validation does not read: `description` texts and the `status`
subtree (the server owns it; manifests never set it). Needs PyYAML.
"""
import argparse
import json
import pathlib
import re
import subprocess

import yaml

HERE = pathlib.Path(__file__).resolve().parent

# (project, tag, path in the repository, CRD version to take, output file)
CRDS = [
    ("kserve", "v0.20.0", "config/crd/full/serving.kserve.io_servingruntimes.yaml", "v1alpha1",
     "servingruntime-v1alpha1.json"),
    ("kserve", "v0.20.0", "config/crd/full/serving.kserve.io_clusterservingruntimes.yaml", "v1alpha1",
     "clusterservingruntime-v1alpha1.json"),
    ("kserve", "v0.20.0", "config/crd/full/serving.kserve.io_inferenceservices.yaml", "v1beta1",
     "inferenceservice-v1beta1.json"),
    ("prometheus-operator", "v0.93.0", "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
     "v1", "servicemonitor-v1.json"),
    ("prometheus-operator", "v0.93.0", "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
     "v1", "prometheusrule-v1.json"),
]
# Katib's Experiment CRD declares no schema (x-kubernetes-preserve-unknown-fields), so the schema
# comes from the OpenAPI document Katib generates from its Go types.
KATIB = ("katib", "v0.19.0", "api/openapi-spec/swagger.json", "v1beta1.Experiment", "experiment-v1beta1.json")
LICENSES = {"kserve": "v0.20.0", "prometheus-operator": "v0.93.0", "katib": "v0.19.0"}


def git_show(gitdir, tag, path):
    return subprocess.run(["git", "-C", gitdir, "show", f"{tag}:{path}"], check=True,
                          capture_output=True).stdout


def strip(node):
    """Drops description texts; keeps everything else."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def without_status(schema):
    schema = dict(schema)
    if "properties" in schema:
        schema["properties"] = {k: v for k, v in schema["properties"].items() if k != "status"}
    return schema


def factor(schema, min_chars=400):
    """Moves subtrees that occur more than once (KServe repeats the whole container and pod
    schema per model format) into `definitions`, referenced by $ref: the same constraints in a
    fraction of the bytes."""
    def key(node):
        return json.dumps(node, sort_keys=True, separators=(",", ":"))

    counts = {}

    def count(node):
        if isinstance(node, dict):
            k = key(node)
            if len(k) >= min_chars:
                counts[k] = counts.get(k, 0) + 1
            for v in node.values():
                count(v)
        elif isinstance(node, list):
            for v in node:
                count(v)

    count(schema)
    shared = {k for k, n in counts.items() if n > 1}
    definitions = dict(schema.get("definitions", {}))
    names = {}

    def name_of(k):
        if k not in names:
            names[k] = f"shared{len(names)}"
            definitions[names[k]] = replace(json.loads(k), top=True)
        return names[k]

    def replace(node, top=False):
        if isinstance(node, dict):
            k = key(node)
            if not top and k in shared:
                return {"$ref": f"#/definitions/{name_of(k)}"}
            return {kk: replace(v) for kk, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    out = {k: replace(v) for k, v in schema.items() if k != "definitions"}
    if definitions:
        out["definitions"] = definitions
    return out


def write(project, name, schema):
    out = HERE / project / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(factor(schema), sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {out.relative_to(HERE.parent.parent)} ({out.stat().st_size} bytes)")


def extract_crd(gitdir, tag, path, version, name, project):
    crd = yaml.safe_load(git_show(gitdir, tag, path))
    (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = without_status(strip(entry["schema"]["openAPIV3Schema"]))
    schema["$comment"] = f"{crd['spec']['group']}/{version} {crd['spec']['names']['kind']}: openAPIV3Schema of {path} at {project} {tag} (descriptions and status removed)"
    write(project, name, schema)


def extract_katib(gitdir):
    project, tag, path, root, name = KATIB
    schemas = json.loads(git_show(gitdir, tag, path))["components"]["schemas"]
    # Kubernetes' own types that the OpenAPI document types loosely or that manifests fill freely.
    replacements = {
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object"},
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "io.k8s.apimachinery.pkg.api.resource.Quantity": {"anyOf": [{"type": "number"}, {"type": "string"}]},
        "io.k8s.apimachinery.pkg.apis.meta.v1.unstructured.Unstructured": {"type": "object",
                                                                          "x-kubernetes-preserve-unknown-fields": True},
    }
    keep, todo = {}, [root]
    while todo:
        n = todo.pop()
        if n in keep:
            continue
        keep[n] = replacements.get(n) or strip(schemas[n])
        todo += re.findall(r'#/components/schemas/([^"]+)', json.dumps(keep[n]))
    keep[root] = without_status(keep[root])
    keep = json.loads(json.dumps(keep).replace("#/components/schemas/", "#/definitions/"))
    schema = {"$comment": f"kubeflow.org/v1beta1 Experiment: {root} and what it references in {path} at katib {tag} (descriptions and status removed)",
              "$ref": f"#/definitions/{root}", "definitions": dict(sorted(keep.items()))}
    write(project, name, schema)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kserve", required=True)
    p.add_argument("--katib", required=True)
    p.add_argument("--prometheus-operator", required=True)
    a = p.parse_args()
    dirs = {"kserve": a.kserve, "katib": a.katib, "prometheus-operator": a.prometheus_operator}
    for project, tag, path, version, name in CRDS:
        extract_crd(dirs[project], tag, path, version, name, project)
    extract_katib(dirs["katib"])
    for project, tag in LICENSES.items():
        (HERE / project / "LICENSE").write_bytes(git_show(dirs[project], tag, "LICENSE"))


if __name__ == "__main__":
    main()
