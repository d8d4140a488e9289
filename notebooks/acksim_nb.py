"""What the notebooks share: run the `acksim` binary on scenarios written as Python dicts and
read its CSVs into pandas, plus two trace views drawn with matplotlib.

The notebooks never reimplement a broker rule: every number they show comes from an `acksim`
run, whose columns are defined in the project's README ("Metrics") and `contract.md`.

Which binary: `$ACKSIM` if set (CI sets it), else `target/release/acksim` of this repository,
built with `cargo build --release` on first use if it is missing.
Where outputs go: a fresh temporary directory per notebook session (`$ACKSIM_NB_WORK` to
choose one), so running a notebook never touches `results/`.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import matplotlib

if "ipykernel" in sys.modules:
    # Figures inline in the notebook even when MPLBACKEND names a non-interactive backend
    # (with Agg, plt.show() would silently show nothing).
    matplotlib.use("module://matplotlib_inline.backend_inline")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
WORK = Path(os.environ.get("ACKSIM_NB_WORK") or tempfile.mkdtemp(prefix="acksim-nb-"))

# One colour per meaning, the same in every notebook (and close to acksim's own timeline).
COLOURS = {
    "first": "#1f77b4",
    "redelivery": "#ff7f0e",
    "duplicate": "#d62728",
    "lost": "#9467bd",
    "ack": "#2ca02c",
    "crash": "#000000",
    "down": "#f4cccc",
}

_counter = itertools.count()


class AcksimError(RuntimeError):
    """`acksim` exited with an error; the message carries its stderr."""


def binary() -> Path:
    """The acksim executable, built on first use when the repository has none yet."""
    if os.environ.get("ACKSIM"):
        return Path(os.environ["ACKSIM"])
    exe = REPO / "target" / "release" / "acksim"
    if not exe.exists():
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    return exe


def acksim(*args: Any) -> str:
    """Runs `acksim ARGS...` and returns its standard output; raises AcksimError on failure."""
    cmd = [str(binary()), *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise AcksimError(
            f"`acksim {' '.join(map(str, args))}` exited {done.returncode}:\n{done.stderr}"
        )
    return done.stdout


def load(name: str) -> dict:
    """A shipped scenario, `scenarios/<name>.yaml`, as a dict to derive variants from."""
    return yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())


def with_changes(spec: Mapping, **changes: Any) -> dict:
    """A deep copy of `spec` with dotted-path changes, `*` meaning every list element.

    `with_changes(s, **{"consumers.*.prefetch": 10, "name": "p10"})` — the same paths a
    scenario's `sweep.grid` takes. A value of None removes the key.
    """
    out = copy.deepcopy(dict(spec))
    for path, value in changes.items():
        _set(out, path.split("."), value)
    return out


def _set(node: Any, keys: list[str], value: Any) -> None:
    key, rest = keys[0], keys[1:]
    if isinstance(node, list):
        targets = range(len(node)) if key == "*" else [int(key)]
        for i in targets:
            if rest:
                _set(node[i], rest, value)
            else:
                node[i] = value
        return
    if not rest:
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
        return
    _set(node.setdefault(key, {}), rest, value)


def write_scenario(spec: Mapping | str | Path) -> Path:
    """A scenario file for acksim: a path is used as is, a dict is written as YAML."""
    if isinstance(spec, (str, Path)):
        return Path(spec)
    path = WORK / f"{next(_counter):03d}-{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(dict(spec), sort_keys=False))
    return path


@dataclass
class Run:
    """One `acksim run`: its printed summary, summary.csv as a Series, consumers.csv, and the
    trace (one row per model event) when asked for."""

    text: str
    summary: pd.Series
    consumers: pd.DataFrame
    trace: pd.DataFrame | None
    out: Path

    @property
    def timeline_png(self) -> Path:
        return self.out / "timeline.png"


def run(spec: Mapping | str | Path, *, seed: int | None = None, trace: bool = False,
        plot: bool = False) -> Run:
    """`acksim run` on a scenario (a dict or a file); `plot` also draws acksim's timeline.png."""
    path = write_scenario(spec)
    out = WORK / f"run-{next(_counter):03d}-{path.stem}"
    args: list[Any] = ["run", path, "--out", out]
    if seed is not None:
        args += ["--seed", seed]
    if trace:
        args.append("--trace")
    if plot:
        args.append("--plot")
    text = acksim(*args)
    summary = pd.read_csv(out / "summary.csv").iloc[0]
    consumers = pd.read_csv(out / "consumers.csv")
    tr = pd.read_csv(out / "trace.csv") if (trace or plot) else None
    return Run(text, summary, consumers, tr, out)


@dataclass
class Sweep:
    """One `acksim sweep`: runs.csv (one row per run) and cells.csv (mean and 95 % CI)."""

    runs: pd.DataFrame
    cells: pd.DataFrame
    out: Path


def sweep(spec: Mapping | str | Path, *, replicates: int | None = None) -> Sweep:
    """`acksim sweep` on a scenario with a `sweep:` section."""
    path = write_scenario(spec)
    out = WORK / f"sweep-{next(_counter):03d}-{path.stem}"
    args: list[Any] = ["sweep", path, "--out", out]
    if replicates is not None:
        args += ["--replicates", replicates]
    acksim(*args)
    return Sweep(pd.read_csv(out / "runs.csv"), pd.read_csv(out / "cells.csv"), out)


def runs(spec: Mapping, grid: Mapping[str, list], *, replicates: int = 1) -> pd.DataFrame:
    """A grid the notebook builds itself (any keys, including ones a sweep grid cannot vary
    together), run as one acksim sweep: the runs.csv rows, one column per grid key."""
    scenario = copy.deepcopy(dict(spec))
    scenario["sweep"] = {"replicates": replicates, "grid": {k: list(v) for k, v in grid.items()}}
    return sweep(scenario).runs


def jain(values) -> float:
    """Jain's fairness index, (Σx)² / (n·Σx²): 1 when every x is equal, 1/n when one has all.
    The same definition as acksim's `jain_fairness` (README, "Metrics")."""
    xs = [float(v) for v in values]
    sq = sum(x * x for x in xs)
    return (sum(xs) ** 2) / (len(xs) * sq) if sq else 1.0


# --- trace views --------------------------------------------------------------------------


def processing_spans(trace: pd.DataFrame) -> pd.DataFrame:
    """One row per processing attempt: consumer, message, start (delivered), end (processed,
    failed, or the consumer's crash), outcome, and whether it was a redelivery.

    A message's `delivered` event opens an attempt on its consumer; the next `processed` or
    `failed` of that message on that consumer closes it; a crash closes whatever is open.
    """
    open_: dict[tuple[str, int], dict] = {}
    rows: list[dict] = []
    for ev in trace.itertuples(index=False):
        if ev.event == "delivered":
            open_[(ev.consumer, int(ev.message))] = {
                "consumer": ev.consumer,
                "message": int(ev.message),
                "start": ev.time_s,
                "redelivered": int(ev.redelivery_counter or 0) > 0,
            }
        elif ev.event in ("processed", "failed"):
            span = open_.pop((ev.consumer, int(ev.message)), None)
            if span is not None:
                rows.append({**span, "end": ev.time_s, "outcome": ev.event})
        elif ev.event == "crashed":
            for key in [k for k in open_ if k[0] == ev.consumer]:
                rows.append({**open_.pop(key), "end": ev.time_s, "outcome": "crashed"})
    spans = pd.DataFrame(rows, columns=["consumer", "message", "start", "redelivered", "end",
                                        "outcome"])
    if not spans.empty:
        done = spans[spans.outcome == "processed"]
        times = done.groupby("message").cumcount()
        spans["repeat"] = False
        spans.loc[done.index, "repeat"] = times.values > 0
    else:
        spans["repeat"] = []
    return spans


def message_view(trace: pd.DataFrame, ax=None, title: str = "", messages: int | None = None):
    """Messages on the y axis, time on the x axis: each processing as a short bar (a second
    processing of the same message — a duplicate — in red), each ack command as a green
    vertical line spanning the messages it acknowledges, each crash as a black line, and every
    accepted message that was never processed as a purple cross at its acceptance time.

    Reading it: a crash loses or duplicates exactly the messages between the last ack before
    it and the processing it interrupted.
    """
    ax = ax or plt.gca()
    spans = processing_spans(trace)
    if messages is not None:
        spans = spans[spans.message <= messages]
    for repeat, colour in ((False, COLOURS["first"]), (True, COLOURS["duplicate"])):
        part = spans[(spans.outcome == "processed") & (spans.repeat == repeat)]
        ax.hlines(part.message, part.start, part.end, colors=colour, linewidth=3,
                  label="processed again (duplicate)" if repeat else "processed")
    cut = spans[spans.outcome == "crashed"]
    ax.hlines(cut.message, cut.start, cut.end, colors="grey", linewidth=6,
              label="interrupted by the crash")
    acks = trace[trace.event == "ack_received"]
    for i, ack in enumerate(acks.itertuples(index=False)):
        if pd.isna(ack.first_message):
            continue
        lo, hi = int(ack.first_message), int(ack.message)
        if messages is not None and lo > messages:
            continue
        ax.vlines(ack.time_s, lo - 0.4, hi + 0.4, colors=COLOURS["ack"], linewidth=1.2,
                  label="ack received by the broker" if i == 0 else None)
    for i, t in enumerate(trace.loc[trace.event == "crashed", "time_s"]):
        ax.axvline(t, color=COLOURS["crash"], linestyle="--", linewidth=1,
                   label="consumer crash" if i == 0 else None)
    # A message never processed is marked where it was last seen: the end of its last
    # (interrupted) processing, or its acceptance by the broker.
    seen = trace[trace.event == "accepted"].set_index("message").time_s
    last_try = spans.groupby("message").end.max()
    seen.update(last_try[last_try.index.isin(seen.index)])
    done = set(spans.loc[spans.outcome == "processed", "message"])
    never = seen[~seen.index.isin(done)]
    if messages is not None:
        never = never[never.index <= messages]
    if not never.empty:
        ax.scatter(never.values, never.index, marker="X", s=70, color=COLOURS["lost"],
                   zorder=3, label="never processed")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("message (broker sequence id)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def buffered(trace: pd.DataFrame) -> pd.DataFrame:
    """Per consumer over time, the messages dispatched to it and not yet processed (its
    prefetch buffer plus the one in hand): +1 at each dispatch, −1 at each processing or
    failure, reset to 0 when its connection drops. Columns: time_s, consumer, buffered."""
    level: dict[str, int] = {}
    rows = []
    for ev in trace.itertuples(index=False):
        c = ev.consumer
        if ev.event == "dispatched":
            level[c] = level.get(c, 0) + int(ev.count if not pd.isna(ev.count) else 1)
        elif ev.event in ("processed", "failed"):
            level[c] = max(0, level.get(c, 0) - 1)
        elif ev.event in ("connection_dropped", "crashed"):
            level[c] = 0
        else:
            continue
        rows.append({"time_s": ev.time_s, "consumer": c, "buffered": level[c]})
    return pd.DataFrame(rows, columns=["time_s", "consumer", "buffered"])


def show_png(path: Path, width: int = 900):
    """acksim's own PNG (timeline or sweep chart), inline."""
    from IPython.display import Image

    return Image(filename=str(path), width=width)


def fmt_duration(seconds: float) -> str:
    """12345.6 -> '3 h 25 m 45.6 s' (for reading retry delays)."""
    if seconds < 60:
        return f"{seconds:g} s"
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    parts = [f"{int(h)} h"] if h else []
    if m:
        parts.append(f"{int(m)} m")
    if s >= 0.0005:
        parts.append(f"{s:.3g} s")
    return " ".join(parts)


def ceil_rule(rate: float, interval_s: float, factor: float = 0.65) -> int:
    """The rule of thumb `ceil(rate × interval / factor)` that `acksim tune` prints."""
    return math.ceil(round(rate * interval_s / factor, 9))
