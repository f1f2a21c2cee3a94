#!/usr/bin/env python3
"""Golden numbers for RecRLNN's layers from PyTorch (float64).

Writes Tests/RecRLNNTests/Golden/layers.json. For each case: fixed parameters (seeded),
an input, a probe R of the output's shape, the output, and the gradients of
L = sum(output * R) with respect to the input and every parameter. Everything is
stored in RecRL's layouts (weights [in, out], NHWC images), converted here from
PyTorch's:
  GRU:             weight_ih_l0 [3H, in] -> inputWeight [in, 3H] (transposed), same for hh
  Conv2d:          weight [out, in, kh, kw] -> [kh, kw, in, out]      (permute 2, 3, 1, 0)
  ConvTranspose2d: weight [in, out, kh, kw] -> [in, kh, kw, out]      (permute 0, 2, 3, 1)
  images:          NCHW -> NHWC, each batch row flattened
The Swift side (GoldenLayerTests) runs in float32 and compares with a stated tolerance.

    Benchmarks/peers/setup.sh   # or any Python with torch and numpy
    Benchmarks/peers/.venv/bin/python Scripts/reference/layers.py
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)
G = torch.Generator().manual_seed(27)


def rand(*shape, scale=1.0):
    return ((torch.rand(*shape, generator=G) * 2 - 1) * scale).requires_grad_(True)


def enc(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [round(float(x), 12) for x in t.reshape(-1)]}


def case(params, inputs, output, probes, extra=None):
    """params: {name: (tensor in torch layout, converter to RecRL layout)}; inputs: {name: tensor}."""
    loss = sum((o * r).sum() for o, r in zip(output, probes))
    leaves = [p for p, _ in params.values()] + [x for x in inputs.values() if x.requires_grad]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    out = {
        "parameters": {n: enc(conv(p)) for n, (p, conv) in params.items()},
        "inputs": {n: enc(x) for n, x in inputs.items()},
        "outputs": [enc(o) for o in output],
        "probes": [enc(r) for r in probes],
        "gradients": {},
    }
    names = list(params) + [n for n, x in inputs.items() if x.requires_grad]
    convs = [c for _, c in params.values()] + [lambda t: t] * (len(names) - len(params))
    for n, g, c in zip(names, grads, convs):
        out["gradients"][n] = enc(c(g))
    if extra:
        out.update(extra)
    return out


ident = lambda t: t
nchw_to_rows = lambda t: t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)
cases = {}

# Embedding: 5 x 3 table, indices with a repeat (gradients accumulate).
w = rand(5, 3)
idx = torch.tensor([[0, 2, 2], [4, 1, 0]])
y = torch.nn.functional.embedding(idx, w).reshape(2, -1)
r = rand(*y.shape).detach()
cases["embedding"] = case({"weight": (w, ident)}, {"input": idx.to(torch.float64)}, [y], [r])

# LayerNorm over groups of 4 features, two groups per row.
scale, offset = rand(4), rand(4)
x = rand(3, 8, scale=2)
y = torch.nn.functional.layer_norm(x.reshape(3, 2, 4), (4,), scale, offset, 1e-5).reshape(3, 8)
r = rand(*y.shape).detach()
cases["layer_norm"] = case({"scale": (scale, ident), "offset": (offset, ident)}, {"input": x}, [y], [r])

# Attention pooling over T = 4 steps of size 3, with padding.
mask = torch.tensor([[1.0, 1, 1, 0], [1, 0, 1, 1]])


def pool(h, scores):
    scores = scores.masked_fill(mask == 0, float("-inf"))
    a = torch.softmax(scores, dim=1)
    return (a.unsqueeze(2) * h).sum(1)


q = rand(3)
x = rand(2, 12)
h = x.reshape(2, 4, 3)
y = pool(h, (h @ q) / 3 ** 0.5)
r = rand(*y.shape).detach()
cases["attention_dot"] = case({"query": (q, ident)}, {"input": x}, [y], [r], {"mask": enc(mask)})

aw, ab, av = rand(3, 2), rand(2), rand(2)
x = rand(2, 12)
h = x.reshape(2, 4, 3)
y = pool(h, torch.tanh(h @ aw + ab) @ av)
r = rand(*y.shape).detach()
cases["attention_additive"] = case({"weight": (aw, ident), "bias": (ab, ident), "vector": (av, ident)},
                                   {"input": x}, [y], [r], {"mask": enc(mask)})

# GRU: input 3, hidden 4, batch 2, T 3, from a given initial state; nn.GRU itself.
gru = torch.nn.GRU(3, 4, batch_first=True)
with torch.no_grad():
    for p in gru.parameters():
        p.copy_(rand(*p.shape))
tr = lambda t: t.t()
gparams = {"inputWeight": (gru.weight_ih_l0, tr), "recurrentWeight": (gru.weight_hh_l0, tr),
           "inputBias": (gru.bias_ih_l0, ident), "recurrentBias": (gru.bias_hh_l0, ident)}
x = rand(2, 9)
h0 = rand(2, 4)
seq, hT = gru(x.reshape(2, 3, 3), h0.unsqueeze(0))
y, hT = seq.reshape(2, 12), hT.squeeze(0)
r, rT = rand(*y.shape).detach(), rand(*hT.shape).detach()
cases["gru"] = case(gparams, {"input": x, "initialState": h0}, [y, hT], [r, rT])

# The same GRU with padding: a masked step carries the state over and outputs 0
# (PyTorch's GRUCell per step, the same parameters).
cell = torch.nn.GRUCell(3, 4)
with torch.no_grad():
    cell.weight_ih.copy_(gru.weight_ih_l0); cell.weight_hh.copy_(gru.weight_hh_l0)
    cell.bias_ih.copy_(gru.bias_ih_l0); cell.bias_hh.copy_(gru.bias_hh_l0)
cparams = {"inputWeight": (cell.weight_ih, tr), "recurrentWeight": (cell.weight_hh, tr),
           "inputBias": (cell.bias_ih, ident), "recurrentBias": (cell.bias_hh, ident)}
gmask = torch.tensor([[1.0, 1, 0], [0, 1, 1]])
x = rand(2, 9)
h0 = rand(2, 4)
hs, state = [], h0
for t in range(3):
    m = gmask[:, t:t + 1]
    state = m * cell(x[:, 3 * t:3 * t + 3], state) + (1 - m) * state
    hs.append(m * state)
y = torch.cat(hs, dim=1)
r, rT = rand(*y.shape).detach(), rand(*state.shape).detach()
cases["gru_masked"] = case(cparams, {"input": x, "initialState": h0}, [y, state], [r, rT], {"mask": enc(gmask)})

# Conv2d: 2 images 4x5x2 -> 3 channels, kernel 3x2, stride (2, 1), padding (1, 0), tanh.
conv = torch.nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0))
with torch.no_grad():
    conv.weight.copy_(rand(*conv.weight.shape)); conv.bias.copy_(rand(3))
img = rand(2, 2, 4, 5)
y = torch.tanh(conv(img))
r = rand(*y.shape).detach()
c = case({"weight": (conv.weight, lambda t: t.permute(2, 3, 1, 0)), "bias": (conv.bias, ident)},
         {"image": img}, [y], [r])
c["inputs"] = {"input": enc(nchw_to_rows(img))}
c["outputs"] = [enc(nchw_to_rows(y))]
c["probes"] = [enc(nchw_to_rows(r))]
c["gradients"]["input"] = enc(nchw_to_rows(torch.tensor(c["gradients"].pop("image")["data"]).reshape(img.shape)))
c["geometry"] = {"inputHeight": 4, "inputWidth": 5, "strideHeight": 2, "strideWidth": 1, "paddingHeight": 1, "paddingWidth": 0}
cases["conv2d"] = c

# ConvTranspose2d: 2 inputs 2x3x3 -> 2 channels, kernel 3x3, stride 2, padding 1,
# output padding 1 (output 4x6), sigmoid.
deconv = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)
with torch.no_grad():
    deconv.weight.copy_(rand(*deconv.weight.shape)); deconv.bias.copy_(rand(2))
img = rand(2, 3, 2, 3)
y = torch.sigmoid(deconv(img))
r = rand(*y.shape).detach()
c = case({"weight": (deconv.weight, lambda t: t.permute(0, 2, 3, 1)), "bias": (deconv.bias, ident)},
         {"image": img}, [y], [r])
c["inputs"] = {"input": enc(nchw_to_rows(img))}
c["outputs"] = [enc(nchw_to_rows(y))]
c["probes"] = [enc(nchw_to_rows(r))]
c["gradients"]["input"] = enc(nchw_to_rows(torch.tensor(c["gradients"].pop("image")["data"]).reshape(img.shape)))
c["geometry"] = {"inputHeight": 2, "inputWidth": 3, "strideHeight": 2, "strideWidth": 2, "paddingHeight": 1, "paddingWidth": 1,
                 "outputPaddingHeight": 1, "outputPaddingWidth": 1}
cases["conv_transpose2d"] = c

cases["_about"] = {"torch": torch.__version__, "script": "Scripts/reference/layers.py",
                   "loss": "sum(output * probe) over every output (GRU: sequence and final state)"}
here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "..", "Tests", "RecRLNNTests", "Golden", "layers.json")
with open(path, "w") as f:
    json.dump(cases, f, indent=None, separators=(",", ":"), sort_keys=True)
    f.write("\n")
print("wrote", os.path.normpath(path))
