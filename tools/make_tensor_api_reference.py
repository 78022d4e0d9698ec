#!/usr/bin/python3
"""Regenerates the PyTorch reference values for Backprop's wider tensor API (joining, axis ops, comparisons and
masks, integer indexing, sorting, statistics, einsum, elementwise functions, smooth activations, 1-D and batched
matmul).

How to run (from the repository root; needs Debian's python3-torch, `apt-get install python3-torch`):

    /usr/bin/python3 tools/make_tensor_api_reference.py

What it writes: tests/Backprop.Tests/Golden/torch_tensor_api.json, in the format of tools/make_torch_reference.py
(name, op, args, inputs, r, output, grads; L = sum(output * r), computed in float64 from float32 inputs). Integer
indices and boolean masks travel in args. Inputs avoid ties (sort, min) and points where an op has no derivative.

PyTorch is never a dependency of the library or its tests: the tests read only the committed JSON.
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torch_reference import Gen, case  # noqa: E402  (the shared case format)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Backprop.Tests", "Golden", "torch_tensor_api.json")
SEED = 20261202
F = torch.nn.functional


def cases(g):
    c = []
    N, U, D = g.normal, g.uniform, g.distinct

    # Joining and splitting.
    c.append(case(g, "concat_axis0", "concat", lambda t: torch.cat([t[0], t[1]], 0), [(N((2, 3)), True), (N((1, 3)), True)], {"axis": 0}))
    c.append(case(g, "concat_axis1_three", "concat", lambda t: torch.cat(t, 1),
                  [(N((2, 3)), True), (N((2, 1)), False), (N((2, 2)), True)], {"axis": 1}))
    c.append(case(g, "concat_axis-1_rank3", "concat", lambda t: torch.cat(t, -1), [(N((2, 2, 3)), True), (N((2, 2, 1)), True)], {"axis": -1}))
    for axis in (0, 1, -1):
        c.append(case(g, f"stack_axis{axis}", "stack", lambda t, a=axis: torch.stack(t, a), [(N((2, 3)), True), (N((2, 3)), True)], {"axis": axis}))
    for piece in range(3):
        c.append(case(g, f"split_size2_axis1_piece{piece}", "split", lambda t, p=piece: torch.split(t[0], 2, 1)[p],
                      [(N((3, 5)), True)], {"size": 2, "axis": 1, "piece": piece}))
    for piece in range(2):
        c.append(case(g, f"split_sizes_axis0_piece{piece}", "split_sizes", lambda t, p=piece: torch.split(t[0], [1, 3], 0)[p],
                      [(N((4, 2)), True)], {"sizes": [1, 3], "axis": 0, "piece": piece}))
        c.append(case(g, f"chunk2_axis0_piece{piece}", "chunk", lambda t, p=piece: torch.chunk(t[0], 2, 0)[p],
                      [(N((5, 2)), True)], {"chunks": 2, "axis": 0, "piece": piece}))

    # Axis ops.
    c.append(case(g, "narrow_axis1", "narrow", lambda t: t[0].narrow(1, 1, 2), [(N((2, 4, 3)), True)], {"axis": 1, "start": 1, "length": 2}))
    c.append(case(g, "select_axis1_last", "select", lambda t: t[0].select(1, -1), [(N((2, 4, 3)), True)], {"axis": 1, "index": -1}))
    c.append(case(g, "select_axis0", "select", lambda t: t[0][1], [(N((3, 2)), True)], {"axis": 0, "index": 1}))
    c.append(case(g, "squeeze_axis1", "squeeze", lambda t: t[0].squeeze(1), [(N((3, 1, 2)), True)], {"axis": 1}))
    c.append(case(g, "unsqueeze_axis-1", "unsqueeze", lambda t: t[0].unsqueeze(-1), [(N((3, 2)), True)], {"axis": -1}))
    c.append(case(g, "expand_3x1_to_2x3x4", "expand", lambda t: t[0].expand(2, 3, 4), [(N((3, 1)), True)], {"shape": [2, 3, 4]}))
    c.append(case(g, "expand_keep_-1", "expand", lambda t: t[0].expand(-1, 4), [(N((2, 1)), True)], {"shape": [-1, 4]}))
    c.append(case(g, "repeat_2x3_by_2x1x2", "repeat", lambda t: t[0].repeat(2, 1, 2), [(N((2, 3)), True)], {"repeats": [2, 1, 2]}))

    # Masks.
    mask = g.rng.random((3, 4)) < 0.5
    c.append(case(g, "where_broadcast", "where", lambda t: torch.where(torch.tensor(mask), t[0], t[1]),
                  [(N((3, 1)), True), (N((4,)), True)], {"mask": mask.reshape(-1).tolist(), "mask_shape": [3, 4]}))
    row_mask = np.array([True, False, True])
    c.append(case(g, "masked_fill_row", "masked_fill", lambda t: t[0].masked_fill(torch.tensor(row_mask), -2.5),
                  [(N((2, 3)), True)], {"mask": row_mask.tolist(), "mask_shape": [3], "value": -2.5}))

    # Integer indexing.
    gi = [[2, 0], [1, 1], [0, 2]]
    c.append(case(g, "gather_axis1", "gather", lambda t: torch.gather(t[0], 1, torch.tensor(gi)), [(N((3, 3)), True)],
                  {"axis": 1, "index": sum(gi, []), "index_shape": [3, 2]}))
    g0 = [[1, 0, 1]]
    c.append(case(g, "gather_axis0_smaller", "gather", lambda t: torch.gather(t[0], 0, torch.tensor(g0)), [(N((2, 4)), True)],
                  {"axis": 0, "index": sum(g0, []), "index_shape": [1, 3]}))
    c.append(case(g, "index_select_axis0_repeats", "index_select", lambda t: torch.index_select(t[0], 0, torch.tensor([2, 0, 2])),
                  [(N((3, 2, 2)), True)], {"axis": 0, "indices": [2, 0, 2]}))
    c.append(case(g, "index_select_axis-1", "index_select", lambda t: torch.index_select(t[0], -1, torch.tensor([1])),
                  [(N((2, 3)), True)], {"axis": -1, "indices": [1]}))
    si = [[0, 1, 0], [1, 0, 0]]
    c.append(case(g, "scatter_add_axis0", "scatter_add", lambda t: t[0].scatter_add(0, torch.tensor(si), t[1]),
                  [(N((2, 3)), True), (N((2, 3)), True)], {"axis": 0, "index": sum(si, []), "index_shape": [2, 3]}))

    # Sorting and order statistics.
    c.append(case(g, "sort_axis-1", "sort", lambda t: torch.sort(t[0], -1).values, [(D((3, 4)), True)], {"axis": -1, "descending": False}))
    c.append(case(g, "sort_axis0_descending", "sort", lambda t: torch.sort(t[0], 0, descending=True).values, [(D((3, 4)), True)],
                  {"axis": 0, "descending": True}))
    c.append(case(g, "topk2_axis0", "topk", lambda t: torch.topk(t[0], 2, 0).values, [(D((4, 3)), True)], {"k": 2, "axis": 0, "largest": True}))
    c.append(case(g, "topk1_smallest", "topk", lambda t: torch.topk(t[0], 1, -1, largest=False).values, [(D((2, 5)), True)],
                  {"k": 1, "axis": -1, "largest": False}))
    c.append(case(g, "min_axis1", "min_axis", lambda t: t[0].min(1).values, [(D((3, 4)), True)], {"axis": 1}))
    c.append(case(g, "min_all", "min", lambda t: t[0].min(), [(D((3, 4)), True)]))
    c.append(case(g, "cumsum_axis0", "cumsum", lambda t: torch.cumsum(t[0], 0), [(N((3, 4)), True)], {"axis": 0}))
    c.append(case(g, "cumsum_axis-1", "cumsum", lambda t: torch.cumsum(t[0], -1), [(N((2, 3, 4)), True)], {"axis": -1}))

    # Statistics.
    c.append(case(g, "var_axis1", "var", lambda t: t[0].var(1), [(N((3, 5)), True)], {"axis": 1, "correction": 1, "keepdim": False}))
    c.append(case(g, "var_axis0_population_keep", "var", lambda t: t[0].var(0, unbiased=False, keepdim=True), [(N((4, 3)), True)],
                  {"axis": 0, "correction": 0, "keepdim": True}))
    c.append(case(g, "var_all", "var_all", lambda t: t[0].var(), [(N((3, 4)), True)]))
    c.append(case(g, "std_axis-1", "std", lambda t: t[0].std(-1), [(N((2, 6)), True)], {"axis": -1, "correction": 1, "keepdim": False}))
    c.append(case(g, "logsumexp_axis1", "logsumexp", lambda t: torch.logsumexp(t[0], 1), [(N((3, 4)), True)], {"axis": 1, "keepdim": False}))
    c.append(case(g, "logsumexp_large_keep", "logsumexp", lambda t: torch.logsumexp(t[0], 0, keepdim=True), [(N((4, 3)) * 80, True)],
                  {"axis": 0, "keepdim": True}, note="values up to ~250: a naive exp would overflow"))

    # Einsum.
    c.append(case(g, "einsum_matmul", "einsum", lambda t: torch.einsum("ij,jk->ik", t[0], t[1]), [(N((3, 4)), True), (N((4, 2)), True)],
                  {"equation": "ij,jk->ik"}))
    c.append(case(g, "einsum_batched", "einsum", lambda t: torch.einsum("bij,bjk->bik", t[0], t[1]),
                  [(N((2, 3, 4)), True), (N((2, 4, 2)), True)], {"equation": "bij,bjk->bik"}))
    c.append(case(g, "einsum_dot", "einsum", lambda t: torch.einsum("i,i->", t[0], t[1]), [(N((5,)), True), (N((5,)), True)], {"equation": "i,i->"}))
    c.append(case(g, "einsum_transpose", "einsum", lambda t: torch.einsum("ij->ji", t[0]), [(N((2, 3)), True)], {"equation": "ij->ji"}))
    c.append(case(g, "einsum_sum_middle", "einsum", lambda t: torch.einsum("ijk->ik", t[0]), [(N((2, 3, 4)), True)], {"equation": "ijk->ik"}))
    c.append(case(g, "einsum_implicit_outer", "einsum", lambda t: torch.einsum("i,j", t[0], t[1]), [(N((3,)), True), (N((2,)), True)],
                  {"equation": "i,j"}))
    c.append(case(g, "einsum_three", "einsum", lambda t: torch.einsum("ij,jk,k->i", t[0], t[1], t[2]),
                  [(N((2, 3)), True), (N((3, 4)), True), (N((4,)), True)], {"equation": "ij,jk,k->i"}))

    # Elementwise functions and smooth activations.
    c.append(case(g, "sin", "sin", lambda t: torch.sin(t[0]), [(N((3, 4)) * 2, True)]))
    c.append(case(g, "cos", "cos", lambda t: torch.cos(t[0]), [(N((3, 4)) * 2, True)]))
    c.append(case(g, "log1p", "log1p", lambda t: torch.log1p(t[0]), [(U((3, 4), -0.9, 3.0), True)]))
    c.append(case(g, "log1p_tiny", "log1p", lambda t: torch.log1p(t[0]), [(N((2, 3)) * 1e-7, True)], note="1 + x rounds away x"))
    c.append(case(g, "expm1", "expm1", lambda t: torch.expm1(t[0]), [(N((3, 4)), True)]))
    c.append(case(g, "expm1_tiny", "expm1", lambda t: torch.expm1(t[0]), [(N((2, 3)) * 1e-7, True)], note="e^x - 1 cancels"))
    c.append(case(g, "rsqrt", "rsqrt", lambda t: torch.rsqrt(t[0]), [(U((3, 4), 0.2, 4.0), True)]))
    c.append(case(g, "gelu", "gelu", lambda t: F.gelu(t[0]), [(N((3, 4)) * 2, True)], {"tanh": False}))
    c.append(case(g, "gelu_tails", "gelu", lambda t: F.gelu(t[0]), [(g.f32([[-8.0, -5.0, -3.0, 3.0, 5.0, 8.0]]), True)], {"tanh": False}))
    c.append(case(g, "gelu_tanh", "gelu", lambda t: F.gelu(t[0], approximate="tanh"), [(N((3, 4)) * 2, True)], {"tanh": True}))
    c.append(case(g, "silu", "silu", lambda t: F.silu(t[0]), [(N((3, 4)) * 3, True)]))
    c.append(case(g, "softplus", "softplus", lambda t: F.softplus(t[0]), [(N((3, 4)) * 3, True)], {"beta": 1.0, "threshold": 20.0}))
    c.append(case(g, "softplus_beta2_threshold", "softplus", lambda t: F.softplus(t[0], beta=2.0, threshold=3.0),
                  [(g.f32([[-4.0, -0.5, 0.3, 1.2, 1.7, 6.0]]), True)], {"beta": 2.0, "threshold": 3.0}, note="values on both sides of beta*x = threshold"))
    c.append(case(g, "elu", "elu", lambda t: F.elu(t[0]), [(g.away0((3, 4)), True)], {"alpha": 1.0}))
    c.append(case(g, "elu_alpha0.5", "elu", lambda t: F.elu(t[0], alpha=0.5), [(g.away0((3, 4)), True)], {"alpha": 0.5}))

    # Matrix products with vectors and more batch dimensions.
    c.append(case(g, "matmul_vector_matrix", "matmul", lambda t: t[0] @ t[1], [(N((4,)), True), (N((4, 3)), True)]))
    c.append(case(g, "matmul_matrix_vector", "matmul", lambda t: t[0] @ t[1], [(N((3, 4)), True), (N((4,)), True)]))
    c.append(case(g, "matmul_vector_vector", "matmul", lambda t: t[0] @ t[1], [(N((5,)), True), (N((5,)), True)]))
    c.append(case(g, "matmul_4d", "matmul", lambda t: t[0] @ t[1], [(N((2, 2, 3, 4)), True), (N((2, 2, 4, 2)), True)]))
    c.append(case(g, "matmul_4d_shared", "matmul", lambda t: t[0] @ t[1], [(N((2, 2, 3, 4)), True), (N((4, 2)), True)]))
    c.append(case(g, "matmul_broadcast_batches", "matmul", lambda t: t[0] @ t[1], [(N((2, 1, 3, 4)), True), (N((3, 4, 2)), True)]))
    c.append(case(g, "matmul_matrix_batched", "matmul", lambda t: t[0] @ t[1], [(N((3, 4)), True), (N((2, 4, 5)), True)]))
    c.append(case(g, "matmul_3d_batch_one", "matmul", lambda t: t[0] @ t[1], [(N((1, 3, 4)), True), (N((2, 4, 2)), True)]))
    return c


def main():
    torch.manual_seed(0)
    g = Gen(SEED)
    doc = {
        "generator": "tools/make_tensor_api_reference.py",
        "torch": torch.__version__.split("+")[0],
        "loss": "L = sum(output * r); grads are dL/dinput, computed in float64 from the float32 inputs",
        "cases": cases(g),
        "losses": [],
    }
    text = json.dumps(doc, separators=(",", ":"))
    text = text.replace('},{"name"', '},\n{"name"').replace('"cases":[', '"cases":[\n')
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {len(doc['cases'])} cases to {os.path.normpath(OUT)} ({len(text) // 1024} KB)")


if __name__ == "__main__":
    main()
