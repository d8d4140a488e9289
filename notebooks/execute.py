"""Executes notebooks top to bottom with nbclient and fails on the first error.

    python notebooks/execute.py [--save DIR] NOTEBOOK.ipynb...

Each notebook runs in its own kernel with `notebooks/` as the working directory. The committed
notebooks must carry no outputs (they are produced by running, not stored): a notebook with
outputs or execution counts is an error, so a stray save from Jupyter cannot slip in.
`--save DIR` writes the executed copies there (to look at them); the sources are never
modified. Exit status: 0 when every notebook ran clean, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def stored_outputs(nb) -> list[int]:
    """Indexes of code cells that carry outputs or an execution count."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--save", type=Path, help="write executed copies into this directory")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()

    failed = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        dirty = stored_outputs(nb)
        if dirty:
            print(f"FAIL {path}: committed with outputs in cells {dirty}; clear them "
                  "(Jupyter: Edit > Clear Outputs of All Cells)", flush=True)
            failed += 1
            continue
        started = time.monotonic()
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}})
        try:
            client.execute()
        except CellExecutionError as err:
            print(f"FAIL {path}:\n{err}", flush=True)
            failed += 1
            continue
        finally:
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, args.save / path.name)
        cells = sum(1 for c in nb.cells if c.cell_type == "code")
        print(f"ok   {path}: {cells} code cells in {time.monotonic() - started:.1f} s", flush=True)
    print(f"notebooks: {len(args.notebooks) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
