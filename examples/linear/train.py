"""Fit y = w*x + b on synthetic data with gradient descent (standard library only).

Writes <out>/weights.json, <out>/metrics.json and a loss plot <out>/loss.svg, printing the loss as
it trains, so a run shows live logs, artifacts and a metric without any download or GPU. Under
run-action it also writes the loss per epoch and the final metrics to $DSTACK_METRICS (JSON Lines)
and a short markdown report to $DSTACK_REPORT: the PR comment and job summary show them against
the baseline run, with a chart of the loss.
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

metrics_file = os.environ.get("DSTACK_METRICS")
metrics_out = open(metrics_file, "a") if metrics_file else None


def log_metrics(**values):
    if metrics_out:
        metrics_out.write(json.dumps(values) + "\n")
        metrics_out.flush()


w, b = 0.0, 0.0
n = len(xs)
loss = float("inf")
history = []
for epoch in range(1, args.epochs + 1):
    gw = sum(2 * (w * x + b - y) * x for x, y in zip(xs, ys)) / n
    gb = sum(2 * (w * x + b - y) for x, y in zip(xs, ys)) / n
    w -= args.lr * gw
    b -= args.lr * gb
    loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / n
    history.append(loss)
    log_metrics(step=epoch, loss=round(loss, 6))
    if epoch % max(1, args.epochs // 10) == 0 or epoch == 1:
        print(f"epoch {epoch:4d}  loss {loss:.5f}  w {w:.4f}  b {b:.4f}", flush=True)
        time.sleep(args.sleep)

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "weights.json"), "w") as f:
    json.dump({"w": w, "b": b}, f, indent=2)
with open(os.path.join(args.out, "metrics.json"), "w") as f:
    json.dump({"loss": loss, "epochs": args.epochs, "lr": args.lr,
               "run": os.environ.get("DSTACK_RUN_NAME"), "revision": os.environ.get("DSTACK_REVISION")}, f, indent=2)


def loss_svg(values, width=480, height=200, pad=30):
    """a line chart of the loss as an SVG image (no plotting library needed)"""
    top, low = max(values), min(values)
    span = (top - low) or 1.0
    pts = " ".join(
        f"{pad + (width - 2 * pad) * i / max(1, len(values) - 1):.1f},{height - pad - (height - 2 * pad) * (v - low) / span:.1f}"
        for i, v in enumerate(values))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{pts}"/>'
            f'<text x="{pad}" y="18" font-family="sans-serif" font-size="12">training loss, {len(values)} epochs</text></svg>\n')


with open(os.path.join(args.out, "loss.svg"), "w") as f:
    f.write(loss_svg(history))

# final values: compared with the baseline run in the summary and the PR comment
error_w, error_b = abs(w - true_w), abs(b - true_b)
log_metrics(loss=round(loss, 6), weight_error=round(error_w, 6), bias_error=round(error_b, 6))
if metrics_out:
    metrics_out.close()

report_file = os.environ.get("DSTACK_REPORT")
if report_file:
    with open(report_file, "w") as f:
        f.write(f"""Fitted **y = {w:.4f}·x {b:+.4f}** (true: y = {true_w}·x {true_b:+}) in {args.epochs} epochs,
learning rate {args.lr}.

| | fitted | true | error |
|---|---:|---:|---:|
| w | {w:.4f} | {true_w} | {error_w:.4f} |
| b | {b:.4f} | {true_b} | {error_b:.4f} |

![training loss]({args.out}/loss.svg)
""")

print(f"saved {args.out}/weights.json (w={w:.4f}, b={b:.4f}), {args.out}/metrics.json (loss={loss:.5f}) and {args.out}/loss.svg")
