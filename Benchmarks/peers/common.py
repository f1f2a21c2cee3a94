"""Shared pieces of the Python peers: configurations, FLOP count, initial
weights/batch (seeded numpy or a safetensors file), and a dependency-free
safetensors reader/writer (numpy only).

Tensor-name contract (what RecRL's exporter writes; weights are [in, out],
y = x @ W + b, row-major, float32 little-endian):
  actor.layers.0.weight [S,H]   actor.layers.0.bias [H]
  actor.layers.1.weight [H,H]   actor.layers.1.bias [H]
  actor.layers.2.weight [H,k]   actor.layers.2.bias [k]
  critic.layers.0.weight [S+k,H] (rows 0..S-1 multiply the state, rows S.. the action)
  critic.layers.0.bias [H]
  critic.layers.1.weight [H,H]  critic.layers.1.bias [H]
  critic.layers.2.weight [H,1]  critic.layers.2.bias [1]
  batch.state [B,S]  batch.action [B,k]  batch.reward [B,1]
  batch.next_state [B,S]  batch.done [B,1]
Target networks start as copies of the online ones.
"""
import json
import struct

import numpy as np

# name: (k, S, H, B)
CONFIGS = {
    "tiny": (4, 12, 8, 5),
    "paper": (100, 300, 256, 64),
    "medium": (128, 384, 1024, 256),
    "large": (256, 768, 4096, 1024),
}

GAMMA = 0.9
TAU = 0.001
CRITIC_LR = 1e-3
ACTOR_LR = 1e-4
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8

ACTOR_NAMES = [f"actor.layers.{i}.{p}" for i in range(3) for p in ("weight", "bias")]
CRITIC_NAMES = [f"critic.layers.{i}.{p}" for i in range(3) for p in ("weight", "bias")]
BATCH_NAMES = ["batch.state", "batch.action", "batch.reward", "batch.next_state", "batch.done"]


def layer_shapes(k, S, H):
    actor = [(S, H), (H, H), (H, k)]
    critic = [(S + k, H), (H, H), (H, 1)]
    return actor, critic


def step_flops(k, S, H, B):
    """Dense-layer FLOPs of one update, WORKLOAD.md: 4*F(A) + 6*F(C)."""
    actor, critic = layer_shapes(k, S, H)
    F = lambda L: sum(2 * B * i * o for i, o in L)
    return 4 * F(actor) + 6 * F(critic)


def expected_shapes(k, S, H, B):
    actor, critic = layer_shapes(k, S, H)
    shapes = {}
    for net, layers in (("actor", actor), ("critic", critic)):
        for i, (fi, fo) in enumerate(layers):
            shapes[f"{net}.layers.{i}.weight"] = (fi, fo)
            shapes[f"{net}.layers.{i}.bias"] = (fo,)
    shapes.update({
        "batch.state": (B, S), "batch.action": (B, k), "batch.reward": (B, 1),
        "batch.next_state": (B, S), "batch.done": (B, 1),
    })
    return shapes


def generate_init(config, seed=0):
    """Glorot-uniform weights, zero biases; batch s, s', a, r ~ U[-1,1],
    done ~ Bernoulli(0.1). All float32, from numpy's default_rng(seed)."""
    k, S, H, B = CONFIGS[config]
    rng = np.random.default_rng(seed)
    actor, critic = layer_shapes(k, S, H)
    t = {}
    for net, layers in (("actor", actor), ("critic", critic)):
        for i, (fi, fo) in enumerate(layers):
            lim = np.sqrt(6.0 / (fi + fo))
            t[f"{net}.layers.{i}.weight"] = rng.uniform(-lim, lim, (fi, fo)).astype(np.float32)
            t[f"{net}.layers.{i}.bias"] = np.zeros((fo,), np.float32)
    u = lambda *shape: rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    t["batch.state"] = u(B, S)
    t["batch.action"] = u(B, k)
    t["batch.reward"] = u(B, 1)
    t["batch.next_state"] = u(B, S)
    t["batch.done"] = (rng.random((B, 1)) < 0.1).astype(np.float32)
    return t


def infer_dims(t):
    S, H = t["actor.layers.0.weight"].shape
    k = t["actor.layers.2.weight"].shape[1]
    B = t["batch.state"].shape[0]
    return k, S, H, B


def validate(t):
    k, S, H, B = infer_dims(t)
    exp = expected_shapes(k, S, H, B)
    missing = [n for n in exp if n not in t]
    if missing:
        raise ValueError(f"init file lacks tensors: {missing}")
    for n, shp in exp.items():
        if tuple(t[n].shape) != shp:
            raise ValueError(f"{n}: shape {tuple(t[n].shape)}, expected {shp} (k={k} S={S} H={H} B={B})")
    return k, S, H, B


def config_of_dims(dims):
    for name, d in CONFIGS.items():
        if tuple(d) == tuple(dims):
            return name
    return "custom"


# --- safetensors (numpy only) ---------------------------------------------

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path):
    """Returns {name: np.ndarray}. Format: u64 LE header length N, N bytes of
    JSON {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__"?},
    then the raw little-endian data (offsets relative to the data start)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        arr = np.frombuffer(raw, dtype=dt, count=(e - b) // np.dtype(dt).itemsize, offset=base + b)
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{name}: {arr.size} elements for shape {shape}")
        out[name] = arr.reshape(shape).astype(arr.dtype.newbyteorder("="))  # native-order copy
    return out


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # align data start to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_init(init_file, config, seed=0):
    """The initial tensors: from the safetensors file if given, else generated."""
    if init_file:
        t = read_safetensors(init_file)
        validate(t)
        return t
    return generate_init(config, seed)
