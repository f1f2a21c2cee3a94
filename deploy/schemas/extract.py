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


SCHEMA_MAPS = ("properties", "patternProperties", "definitions")  # name -> subschema
SCHEMA_VALUES = ("items", "additionalProperties", "not")  # a subschema (when a mapping)
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")  # subschemas


def map_subschemas(node, fn):
    """A copy of schema `node` with fn applied to each of its immediate subschemas (and nothing
    else: not to `properties` maps themselves, `default` values, `enum` members, etc.)."""
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in SCHEMA_MAPS and isinstance(v, dict):
            out[k] = {name: fn(sub) for name, sub in v.items()}
        elif k in SCHEMA_VALUES and isinstance(v, dict):
            out[k] = fn(v)
        elif k in SCHEMA_LISTS and isinstance(v, list):
            out[k] = [fn(sub) for sub in v]
        else:
            out[k] = v
    return out


def map_schema(node, fn):
    """Rebuilds a JSON schema bottom-up, calling fn on every subschema, the root included."""
    return fn(map_subschemas(node, lambda sub: map_schema(sub, fn))) if isinstance(node, dict) else node


def factor(schema, min_chars=400):
    """Moves subschemas that occur more than once (KServe repeats the whole container and pod
    schema per model format) into `definitions`, referenced by $ref: the same constraints in a
    fraction of the bytes."""
    def key(node):
        return json.dumps(node, sort_keys=True, separators=(",", ":"))

    counts = {}

    def count(node):
        k = key(node)
        if len(k) >= min_chars:
            counts[k] = counts.get(k, 0) + 1
        return node

    map_schema(schema, count)
    definitions, names = {}, {}

    def replace(node):
        # Top-down on the original subschemas, so that keys match the counted ones.
        k = key(node) if isinstance(node, dict) else None
        if counts.get(k, 0) > 1:
            if k not in names:
                names[k] = f"shared{len(names)}"
                definitions[names[k]] = map_subschemas(node, replace)
            return {"$ref": f"#/definitions/{names[k]}"}
        return map_subschemas(node, replace)

    root = dict(schema)
    existing = root.pop("definitions", {})
    root = map_subschemas(root, replace)
    definitions.update({n: map_subschemas(d, replace) for n, d in existing.items()})
    if definitions:
        root["definitions"] = definitions
    return root


def inline(schema):
    """factor's inverse: replaces every shared $ref by its definition."""
    definitions = schema.get("definitions", {})

    def expand(node):
        if isinstance(node, dict) and set(node) == {"$ref"} and node["$ref"].startswith("#/definitions/shared"):
            return expand(definitions[node["$ref"].rsplit("/", 1)[1]])
        return map_subschemas(node, expand)

    out = expand({k: v for k, v in schema.items() if k != "definitions"})
    kept = {n: expand(d) for n, d in definitions.items() if not n.startswith("shared")}
    if kept:
        out["definitions"] = kept
    return out


def write(project, name, schema):
    factored = factor(schema)
    # The transformation must not change what the schema accepts.
    assert inline(factored) == schema, f"{name}: factoring is not lossless"
    out = HERE / project / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(factored, sort_keys=True, separators=(",", ":")) + "\n")
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
