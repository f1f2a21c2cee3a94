#!/usr/bin/env python3
"""The RecRL production loop as a Kubeflow Pipelines (KFP v2) pipeline.

    ingest -> split -> [tune] -> train -> evaluate + gate -> (gate passed) register -> promote -> deploy

Every step is a container running the recrl image (`recrl <stage> ...`; each stage reads and
writes a directory of artefacts with a JSON manifest). The gate is `recrl evaluate --gate`: exit
status 0 passes, 3 fails (the candidate stays unregistered), anything else is an error. The deploy
step points the KServe InferenceService (deploy/kubernetes/kserve) at the promoted version.

Compile (the committed pipeline.yaml is this file's output; `make validate-deploy` recompiles it
and fails when they differ):

    python3 deploy/kubeflow/pipeline.py                      # writes deploy/kubeflow/pipeline.yaml
    RECRL_PIPELINE_IMAGE=my/recrl:1.2 python3 deploy/kubeflow/pipeline.py --output /tmp/pipeline.yaml

Needs kfp and kfp-kubernetes 2.x (deploy/requirements.txt).
"""
import argparse
import json
import os
import pathlib

from kfp import compiler, dsl, kubernetes

HERE = pathlib.Path(__file__).resolve().parent
# The components capture the image when this module loads, hence an environment variable.
RECRL_IMAGE = os.environ.get("RECRL_PIPELINE_IMAGE", "registry.example.com/recrl/recrl:0.2.0")
KUBECTL_IMAGE = "bitnami/kubectl:1.33"
# The search space `recrl tune --space` reads; the Katib experiment (katib-experiment.yaml)
# mirrors it, which `make validate-deploy` checks.
TUNE_SPACE = json.dumps(json.loads((HERE / "tune-space.json").read_text()), sort_keys=True)
REGISTRY_MOUNT = "/registry"
# CPUs of the training and tuning steps. OpenBLAS sizes its thread pool from the node's cores,
# not the container's limit, so the steps set OPENBLAS_NUM_THREADS to the limit.
TRAIN_CPUS = 4
DATA_MOUNT = "/data"

# A bash prologue shared by the steps that need a shell (the image has bash, no other shell tools
# beyond coreutils).
STRICT = "set -euo pipefail; "


@dsl.container_component
def ingest(data_dir: str, data_format: str, max_bad_fraction: float, interactions: dsl.Output[dsl.Dataset]):
    """Loads and validates the raw data; fails when more than max_bad_fraction of the rows are bad."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["recrl", "ingest"],
        args=["--data", data_dir, "--format", data_format, "--max-bad-fraction", max_bad_fraction,
              "--out", interactions.path])


@dsl.container_component
def split(interactions: dsl.Input[dsl.Dataset], method: str, test_fraction: float, seed: int,
          splits: dsl.Output[dsl.Dataset]):
    """Writes the train/test split as files, so that every later step sees the same one."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["recrl", "split"],
        args=["--in", interactions.path, "--out", splits.path, "--split", method,
              "--test-fraction", test_fraction, "--seed", seed])


@dsl.container_component
def tune(splits: dsl.Input[dsl.Dataset], policy: str, space: str, trials: int, parallel: int, budget: int,
         tuning: dsl.Output[dsl.Artifact]):
    """Random search with successive halving on a validation split carved from training."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["bash", "-c"],
        args=[STRICT + 'printf %s "$1" > /tmp/space.json; exec recrl tune --in "$2" --policy "$3" '
              '--space /tmp/space.json --trials "$4" --parallel "$5" --budget "$6" --out "$7"',
              "tune", space, splits.path, policy, trials, parallel, budget, tuning.path])


@dsl.container_component
def train(splits: dsl.Input[dsl.Dataset], policy: str, episodes: int, seed: int, model: dsl.Output[dsl.Model]):
    """Trains with the library's default configuration."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["recrl", "train"],
        args=["--in", splits.path, "--policy", policy, "--episodes", episodes, "--seed", seed,
              "--out", model.path])


@dsl.container_component
def train_tuned(splits: dsl.Input[dsl.Dataset], tuning: dsl.Input[dsl.Artifact], policy: str, episodes: int,
                seed: int, model: dsl.Output[dsl.Model]):
    """Trains with the best configuration found by tune (its KEY=VALUE lines become --set options)."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["bash", "-c"],
        args=[STRICT + 'sets=(); while IFS= read -r kv; do [ -n "$kv" ] && sets+=(--set "$kv"); done < "$2/best-overrides.txt"; '
              'exec recrl train --in "$1" --policy "$3" --episodes "$4" --seed "$5" --out "$6" "${sets[@]}"',
              "train", splits.path, tuning.path, policy, episodes, seed, model.path])


@dsl.container_component
def evaluate_gate(splits: dsl.Input[dsl.Dataset], model: dsl.Input[dsl.Model], policy: str, baselines: str,
                  gate: str, report: dsl.Output[dsl.Artifact], passed: dsl.OutputPath(str)):
    """Evaluates the candidate beside the baselines in one run and applies the gate; writes
    `true` or `false` to `passed` (exit status 3 of `recrl evaluate --gate` is a failed gate)."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["bash", "-c"],
        args=['mkdir -p "$(dirname "$6")" "$(dirname "$7")"; '
              'recrl evaluate --in "$1" --model "$2" --policies "$3,$4" --gate "$5" --json > "$6"; rc=$?; '
              'case $rc in 0) printf true > "$7" ;; 3) printf false > "$7" ;; *) exit $rc ;; esac',
              "evaluate", splits.path, model.path, policy, baselines, gate, report.path, passed])


@dsl.container_component
def register(model: dsl.Input[dsl.Model], report: dsl.Input[dsl.Artifact], version: dsl.OutputPath(str)):
    """Adds the model to the registry as a new immutable version; writes its version id."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["bash", "-c"],
        args=[STRICT + 'mkdir -p "$(dirname "$4")"; '
              'recrl models register --registry "$1" --model "$2" --metrics "$3" | tail -n 1 > "$4"',
              "register", REGISTRY_MOUNT, model.path, report.path, version])


@dsl.container_component
def promote(version: str, stage: str):
    """Moves the registry's stage pointer to the version (atomically; rollback restores the previous)."""
    return dsl.ContainerSpec(
        image=RECRL_IMAGE, command=["recrl", "models", "promote"],
        args=[version, "--stage", stage, "--registry", REGISTRY_MOUNT])


@dsl.container_component
def deploy(version: str, namespace: str, inference_service: str, registry_pvc: str):
    """Points the InferenceService at the promoted version (a new KServe revision)."""
    return dsl.ContainerSpec(
        image=KUBECTL_IMAGE, command=["bash", "-c"],
        args=[STRICT + 'patch=$(printf \'{"spec":{"predictor":{"model":{"storageUri":"pvc://%s/versions/%s"}}}}\' "$4" "$1"); '
              'kubectl -n "$2" patch inferenceservice "$3" --type merge -p "$patch"; '
              'kubectl -n "$2" wait --for=condition=Ready --timeout=600s inferenceservice "$3"',
              "deploy", version, namespace, inference_service, registry_pvc])


def compute_heavy(task):
    """Requests TRAIN_CPUS cores for a training or tuning step and sizes OpenBLAS to them."""
    task.set_cpu_request(str(TRAIN_CPUS)).set_cpu_limit(str(TRAIN_CPUS))
    task.set_memory_request("2Gi").set_memory_limit("4Gi")
    return task.set_env_variable("OPENBLAS_NUM_THREADS", str(TRAIN_CPUS))


@dsl.pipeline(name="recrl-train-gate-deploy",
              description="Ingest, split, optionally tune, train, evaluate against a baseline gate, "
                          "register, promote and deploy a RecRL DRR model.")
def recrl_pipeline(
    data_dir: str = f"{DATA_MOUNT}/input",
    data_format: str = "auto",
    max_bad_fraction: float = 0.01,
    split_method: str = "global-time",
    test_fraction: float = 0.2,
    seed: int = 0,
    policy: str = "drr-ave",
    episodes: int = 500,
    run_tuning: bool = False,
    tune_space: str = TUNE_SPACE,
    tune_trials: int = 20,
    tune_parallel: int = 2,
    tune_budget: int = 200,
    baselines: str = "itemknn,popularity",
    gate: str = "ndcg@10 >= 1.0 * itemknn",
    data_pvc: str = "recrl-data",
    registry_pvc: str = "recrl-registry",
    namespace: str = "recrl",
    inference_service: str = "recrl",
):
    ingest_task = ingest(data_dir=data_dir, data_format=data_format, max_bad_fraction=max_bad_fraction)
    kubernetes.mount_pvc(ingest_task, pvc_name=data_pvc, mount_path=DATA_MOUNT)
    split_task = split(interactions=ingest_task.outputs["interactions"], method=split_method,
                       test_fraction=test_fraction, seed=seed)
    splits = split_task.outputs["splits"]

    with dsl.If(run_tuning == True, name="tuning"):  # noqa: E712 (a KFP condition, not a Python test)
        tune_task = compute_heavy(tune(splits=splits, policy=policy, space=tune_space, trials=tune_trials,
                                       parallel=tune_parallel, budget=tune_budget))
        tuned = compute_heavy(train_tuned(splits=splits, tuning=tune_task.outputs["tuning"], policy=policy,
                                          episodes=episodes, seed=seed))
    with dsl.Else(name="defaults"):
        plain = compute_heavy(train(splits=splits, policy=policy, episodes=episodes, seed=seed))
    model = dsl.OneOf(tuned.outputs["model"], plain.outputs["model"])

    gate_task = evaluate_gate(splits=splits, model=model, policy=policy, baselines=baselines, gate=gate)
    with dsl.If(gate_task.outputs["passed"] == "true", name="gate-passed"):
        register_task = register(model=model, report=gate_task.outputs["report"])
        kubernetes.mount_pvc(register_task, pvc_name=registry_pvc, mount_path=REGISTRY_MOUNT)
        promote_task = promote(version=register_task.outputs["version"], stage="production")
        kubernetes.mount_pvc(promote_task, pvc_name=registry_pvc, mount_path=REGISTRY_MOUNT)
        deploy(version=register_task.outputs["version"], namespace=namespace,
               inference_service=inference_service, registry_pvc=registry_pvc).after(promote_task)


def main():
    p = argparse.ArgumentParser(description="Compile the RecRL KFP v2 pipeline.")
    p.add_argument("--output", default=str(HERE / "pipeline.yaml"))
    a = p.parse_args()
    compiler.Compiler().compile(recrl_pipeline, package_path=a.output)


if __name__ == "__main__":
    main()
