"""The pull-request report (`make report`): report.md and its PNG images, built locally.

Markdown tables of `dvc params diff` and `dvc metrics diff` against a base revision (the
target branch of a pull request), then the plots of the current results drawn from the plot
data in reports/plots/, then the leaderboard of the AutoML search when one ran (`make automl`
writes reports/automl/, committed with the params.yaml change it made). CI publishes the file
with `cml comment create`; nothing else in the report is CI-only.

    python -m <package>.ci.report --base main
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from ..paths import AUTOML_DIR, METRICS_FILE, PLOTS_DIR
from ..pipeline.plots import COLUMNS

REPORT_FILE = Path("report.md")
# Image links are relative to report.md, which sits at the project root like the working
# directory CML runs in, so both readings of a link find the same file.
IMAGE_DIR = Path("reports/cml")
PIPELINE_FILE = Path("dvc.yaml")


def plot_titles(root: Path) -> dict[str, str]:
    """Plot kind -> title, as dvc.yaml `plots:` declares them for `dvc plots show`."""
    pipeline = yaml.safe_load((root / PIPELINE_FILE).read_text(encoding="utf-8")) or {}
    titles = {}
    for entry in pipeline.get("plots") or []:
        for path, settings in entry.items() if isinstance(entry, dict) else []:
            titles[Path(path).name] = (settings or {}).get("title") or Path(path).name
    return titles


def dvc(root: Path, *args: str) -> str:
    """Run DVC from this environment and return its output (Markdown with --md)."""
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"dvc {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout.strip()


def git_describe(root: Path, rev: str) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=root, capture_output=True, text=True
    )
    return f"`{rev}` ({done.stdout.strip()})" if done.returncode == 0 else f"`{rev}`"


def read_plot(path: Path) -> pd.DataFrame | None:
    """Plot data, or None for the header-only CSVs of the other task's plots."""
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    return None if frame.empty else frame


def draw_confusion(frame: pd.DataFrame, title: str, out: Path) -> None:
    import matplotlib.pyplot as plt

    table = pd.crosstab(frame["actual"].astype(str), frame["predicted"].astype(str))
    labels = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=labels, columns=labels, fill_value=0)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(table.to_numpy(), cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    peak = table.to_numpy().max() or 1
    for i, row in enumerate(table.to_numpy()):
        for j, count in enumerate(row):
            colour = "white" if count > peak / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour)
    _save(fig, ax, title, out)


def draw_roc(curves: dict[str, pd.DataFrame], title: str, out: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for label, frame in curves.items():
        ax.plot(frame["fpr"], frame["tpr"], label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    _save(fig, ax, title, out)


def draw_scatter(frame: pd.DataFrame, x: str, y: str, kind: str, title: str, out: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.scatter(frame[x], frame[y], s=12, alpha=0.7)
    if kind == "predicted_vs_actual":
        low = min(frame[x].min(), frame[y].min())
        high = max(frame[x].max(), frame[y].max())
        ax.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=1)
    else:
        ax.axhline(0, linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    _save(fig, ax, title, out)


def draw_importance(frame: pd.DataFrame, title: str, out: Path) -> None:
    import matplotlib.pyplot as plt

    shown = frame.head(15).iloc[::-1]  # the largest at the top
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(shown) + 1.2))
    ax.barh(shown["feature"].astype(str), shown["importance"])
    ax.set_xlabel("mean |SHAP value|")
    _save(fig, ax, title, out)


def _save(fig, ax, title: str, out: Path) -> None:
    import matplotlib.pyplot as plt

    ax.set_title(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def draw_plots(root: Path) -> list[tuple[str, Path]]:
    """PNG images of the plot data present, as (title, path relative to root)."""
    import matplotlib

    matplotlib.use("Agg")
    plots_dir, images = root / PLOTS_DIR, []
    titles = plot_titles(root)
    confusion = read_plot(plots_dir / "confusion" / "test.csv")
    if confusion is not None:
        images.append(("confusion", IMAGE_DIR / "confusion.png"))
        draw_confusion(confusion, titles["confusion"], root / images[-1][1])
    curves = {
        path.stem: frame
        for path in sorted((plots_dir / "roc").glob("*.csv"))
        if (frame := read_plot(path)) is not None
    }
    if curves:
        images.append(("roc", IMAGE_DIR / "roc.png"))
        draw_roc(curves, titles["roc"], root / images[-1][1])
    for kind in ("predicted_vs_actual", "residuals"):
        x, y = COLUMNS[kind]
        frame = read_plot(plots_dir / kind / "test.csv")
        if frame is not None:
            images.append((kind, IMAGE_DIR / f"{kind}.png"))
            draw_scatter(frame, x, y, kind, titles[kind], root / images[-1][1])
    importance = read_plot(plots_dir / "importance" / "test.csv")
    if importance is not None:
        images.append(("importance", IMAGE_DIR / "importance.png"))
        draw_importance(importance, titles["importance"], root / images[-1][1])
    return [(titles[kind], path) for kind, path in images]


def build(root: Path | str = ".", base: str = "main") -> Path:
    """Write report.md and its images under root; returns the report's path."""
    root = Path(root)
    if not (root / METRICS_FILE).is_file():
        raise SystemExit(f"{METRICS_FILE} not found: run `make repro` first")
    params = dvc(root, "params", "diff", base, "--md")
    metrics = dvc(root, "metrics", "diff", base, "--md", "--all", "--precision", "4")
    (root / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    for stale in (root / IMAGE_DIR).glob("*.png"):
        stale.unlink()
    images = draw_plots(root)
    lines = [
        "# Model report",
        "",
        f"Compared with {git_describe(root, base)}; the pipeline was re-run with `dvc repro`.",
        "",
        "## Parameters changed",
        "",
        params or "No parameter changed.",
        "",
        "## Metrics (test split)",
        "",
        metrics or "No metrics to compare.",
        "",
        "## Plots",
        "",
    ]
    for title, path in images:
        lines += [f"### {title}", "", f"![{title}]({path.as_posix()})", ""]
    if not images:
        lines += ["No plot data in reports/plots/.", ""]
    lines += automl_section(root)
    report = root / REPORT_FILE
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def automl_section(root: Path) -> list[str]:
    """The search's leaderboard and plots, as `make automl` (or `make automl-show`) wrote them;
    nothing when no search ran."""
    leaderboard = root / AUTOML_DIR / "leaderboard.md"
    if not leaderboard.is_file():
        return []
    lines = ["## AutoML search", "", leaderboard.read_text(encoding="utf-8").strip(), ""]
    for name, title in (("history.png", "Search history"), ("importance.png", "Parameters")):
        if (root / AUTOML_DIR / name).is_file():
            lines += [f"![{title}]({(AUTOML_DIR / name).as_posix()})", ""]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="revision to compare with (default main)")
    parser.add_argument("--root", default=".", help="project folder (default: here)")
    args = parser.parse_args(argv)
    report = build(args.root, args.base)
    print(f"wrote {report} (compared with {args.base})")


if __name__ == "__main__":
    main()
