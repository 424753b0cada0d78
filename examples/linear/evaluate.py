"""Evaluate the weights produced by train.py on fresh synthetic data (standard library only)."""
import argparse
import json
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="model")
parser.add_argument("--out", default="report")
args = parser.parse_args()

with open(os.path.join(args.model, "weights.json")) as f:
    weights = json.load(f)
rng = random.Random(42)
xs = [rng.uniform(-2, 2) for _ in range(128)]
ys = [3.0 * x - 1.5 for x in xs]
mse = sum((weights["w"] * x + weights["b"] - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "eval.json"), "w") as f:
    json.dump({"mse": mse, "weights": weights}, f, indent=2)
print(f"evaluation mse {mse:.6f} -> {args.out}/eval.json")
