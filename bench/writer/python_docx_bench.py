"""python-docx baseline for bench/writer/run.sh.

Does what the Rust bench does, the python-docx way: open the .docx from memory, add N comments
(`document.add_comment(runs, text=..., author=..., initials=...)`, python-docx >= 1.2) on the runs
of N paragraphs spread evenly over the document (body paragraphs and those in table cells, as
the Rust bench picks among every paragraph it reads), save to memory. 500 comments on the
largest document, 20 on every good corpus document. Files python-docx cannot open, or in which
it reaches no paragraph to comment, are counted and skipped (on both sides: the Rust bench
times the same files).

Prints tab-separated lines the Rust bench reads:
  version V | handbook_s S | handbook_cpu_s S | corpus_s S | corpus_cpu_s S | ok FILE | failed FILE ERROR
"""

import csv
import io
import statistics
import sys
import time

import docx  # python-docx
from docx.table import Table

HANDBOOK = "unstructured/handbook-872p.docx"
TEXT = "[MAJOR - High Risk] Finding {i}\nThe quoted statement has no evidence.\n\nSuggestion: add the monitoring data."


def paragraphs(container):
    """Paragraphs of a document or table cell in order, those of its tables included."""
    for item in container.iter_inner_content():
        if isinstance(item, Table):
            seen = set()  # a merged cell is listed once per grid column it spans
            for row in item.rows:
                for cell in row.cells:
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        yield from paragraphs(cell)
        else:
            yield item


def comment(data: bytes, n: int) -> int:
    doc = docx.Document(io.BytesIO(data))
    # Paragraphs with text in runs (python-docx anchors comments on runs).
    cands = [p for p in paragraphs(doc) if p.runs and len(p.text) >= 2]
    if not cands:
        raise ValueError("no paragraph python-docx can reach to comment")
    written = 0
    for i in range(n):
        p = cands[i * len(cands) // n]
        runs = p.runs
        doc.add_comment(runs if len(runs) > 1 else runs[0], text=TEXT.format(i=i), author="aiprism", initials="AI")
        written += 1
    out = io.BytesIO()
    doc.save(out)
    return written


def median_time(reps: int, f) -> tuple[float, float]:
    """Median wall time and median CPU time (process_time: not inflated by other processes)."""
    walls, cpus = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        f()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    corpus = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"version\t{docx.__version__ if hasattr(docx, '__version__') else '?'}")
    with open(f"{corpus}/MANIFEST.tsv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    files = {}
    for r in rows:
        if r["kind"] in ("docx", "docm", "dotx") and not r["malformed"].strip():
            with open(f"{corpus}/{r['rel_path']}", "rb") as fh:
                files[r["rel_path"]] = fh.read()
    ok = {}
    for name, data in files.items():
        try:
            comment(data, 20)
            ok[name] = data
            print(f"ok\t{name}")
        except Exception as e:  # noqa: BLE001 - any failure means python-docx cannot do it
            msg = f"{type(e).__name__}: {e}".replace("\t", " ").replace("\n", " ")[:160]
            print(f"failed\t{name}\t{msg}")
    hb = files[HANDBOOK]
    wall, cpu = median_time(reps, lambda: comment(hb, 500))
    print(f"handbook_s\t{wall:.6f}")
    print(f"handbook_cpu_s\t{cpu:.6f}")
    wall, cpu = median_time(reps, lambda: [comment(d, 20) for d in ok.values()])
    print(f"corpus_s\t{wall:.6f}")
    print(f"corpus_cpu_s\t{cpu:.6f}")


if __name__ == "__main__":
    main()
