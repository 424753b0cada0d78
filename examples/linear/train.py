"""Fit y = w*x + b on synthetic data with gradient descent (standard library only).

Writes <out>/weights.json and <out>/metrics.json, printing the loss as it trains, so a run shows
live logs, artifacts and a metric without any download or GPU.
"""
import argparse
import json
import os
import random
import time

parser = argparse.ArgumentParser()
parser.add_argument("--out", default="model")
parser.add_argument("--epochs", type=int, default=int(os.environ.get("EPOCHS", "200")))
parser.add_argument("--lr", type=float, default=float(os.environ.get("LEARNING_RATE", "0.05")))
parser.add_argument("--seed", type=int, default=7)
parser.add_argument("--sleep", type=float, default=0.0, help="seconds to pause per logged epoch (to watch live logs)")
args = parser.parse_args()

rng = random.Random(args.seed)
true_w, true_b = 3.0, -1.5
xs = [rng.uniform(-2, 2) for _ in range(256)]
ys = [true_w * x + true_b + rng.gauss(0, 0.1) for x in xs]

w, b = 0.0, 0.0
n = len(xs)
loss = float("inf")
for epoch in range(1, args.epochs + 1):
    gw = sum(2 * (w * x + b - y) * x for x, y in zip(xs, ys)) / n
    gb = sum(2 * (w * x + b - y) for x, y in zip(xs, ys)) / n
    w -= args.lr * gw
    b -= args.lr * gb
    loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / n
    if epoch % max(1, args.epochs // 10) == 0 or epoch == 1:
        print(f"epoch {epoch:4d}  loss {loss:.5f}  w {w:.4f}  b {b:.4f}", flush=True)
        time.sleep(args.sleep)

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "weights.json"), "w") as f:
    json.dump({"w": w, "b": b}, f, indent=2)
with open(os.path.join(args.out, "metrics.json"), "w") as f:
    json.dump({"loss": loss, "epochs": args.epochs, "lr": args.lr,
               "run": os.environ.get("DSTACK_RUN_NAME"), "revision": os.environ.get("DSTACK_REVISION")}, f, indent=2)
print(f"saved {args.out}/weights.json (w={w:.4f}, b={b:.4f}) and {args.out}/metrics.json (loss={loss:.5f})")
