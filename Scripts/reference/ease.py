#!/usr/bin/env python3
"""Golden EASE weights and scores for RecRL's EASE test (numpy reference, float64).

The fixture is RecommenderTests' 4-user, 5-item binary matrix below (item 4 unseen);
EASE (Steck 2019): G = X^T X + lam*I, P = G^-1, B = I - P / diag(P) (column-wise), so
B_ij = -P_ij / P_jj and B_ii = 0; scores = X B. Prints the values pasted into
Tests/RecRLRecommendersTests/EASETests.swift.

    python3 Scripts/reference/ease.py
"""
import numpy as np

X = np.array([
    [1, 1, 0, 0, 0],
    [1, 1, 1, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 0, 1, 1, 0],
], dtype=float)
LAM = 2.0

G = X.T @ X + LAM * np.eye(X.shape[1])
P = np.linalg.inv(G)
B = -P / np.diag(P)[None, :]
np.fill_diagonal(B, 0.0)
S = X @ B

np.set_printoptions(precision=10, floatmode="fixed", suppress=True)
print("lambda", LAM)
print("B (row-major):", ", ".join(f"{v + 0.0:.10f}" for v in B.ravel()))
print("scores (row-major):", ", ".join(f"{v + 0.0:.10f}" for v in S.ravel()))
