"""python-docx baseline for bench/ingest/run.sh.

Extracts paragraph text the way a python-docx user would (body paragraphs, then table-cell
paragraphs, nested tables included) from every good .docx of the corpus, loaded from memory.
Prints tab-separated lines the Rust bench reads:
  total_bytes N | median_s S | ok FILE | failed FILE ERROR | large FILE MEDIAN_S
"""

import csv
import io
import statistics
import sys
import time

import docx  # python-docx

LARGE = [
    "unstructured/handbook-872p.docx",
    "docling/docx_rich_tables_01.docx",
    "Open-XML-SDK/Complex01.docx",
    "Open-XML-SDK/Strict01.docx",
]


def extract(data: bytes) -> int:
    doc = docx.Document(io.BytesIO(data))
    chars = 0
    for p in doc.paragraphs:
        chars += len(p.text)
    stack = list(doc.tables)
    while stack:
        table = stack.pop()
        for row in table.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    chars += len(p.text)
                stack.extend(cell.tables)
    return chars


def main() -> None:
    corpus = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
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
            extract(data)
            ok[name] = data
            print(f"ok\t{name}")
        except Exception as e:  # python-docx refuses some valid packages
            msg = str(e).replace("\t", " ").replace("\n", " ")[:120]
            print(f"failed\t{name}\t{type(e).__name__}: {msg}")
    print(f"total_bytes\t{sum(len(d) for d in ok.values())}")
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for data in ok.values():
            extract(data)
        times.append(time.perf_counter() - t0)
    print(f"median_s\t{statistics.median(times)}")
    for name in LARGE:
        if name not in ok:
            continue
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            extract(ok[name])
            t.append(time.perf_counter() - t0)
        print(f"large\t{name}\t{statistics.median(t)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
