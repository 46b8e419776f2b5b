"""Results of a benchmark run: raw CSV, summary, Markdown table, charts."""
import csv
import math
import os
import shutil
import statistics
import subprocess

import measure

# The allocators in the order of the tables, with their chart colours.
COLOURS = {"r3malloc": "#d62728", "glibc": "#8c8c8c", "jemalloc": "#1f77b4",
           "tcmalloc": "#2ca02c", "mimalloc": "#ff9f1c"}
RAW_FIELDS = ["workload", "threads", "allocator", "repetition", "seconds", "peak_rss_kib",
              "cpu_seconds", "status"]
# The metrics of the summary: (key, title, Run attribute, chart drawn).
METRICS = [("time", "Wall time", "seconds", True),
           ("rss", "Peak RSS", "peak_rss_kib", True),
           ("cpu", "CPU time (user + system)", "cpu_seconds", False)]


class Results:
    """Every run of a session, kept in order and written to raw.csv."""

    def __init__(self, out_dir, allocators, record=True):
        self.out_dir = out_dir
        self.allocators = allocators
        self.rows = []           # (label, allocator, Run)
        self.labels = []         # workload labels in the order first run
        self.raw = open(os.path.join(out_dir, "raw.csv"), "w", newline="") if record else None
        if self.raw:
            self.writer = csv.writer(self.raw)
            self.writer.writerow(RAW_FIELDS)

    @classmethod
    def load(cls, out_dir, label_of):
        """The runs recorded in out_dir/raw.csv (say, of an interrupted run).
        label_of(workload name, threads) gives the row label."""
        with open(os.path.join(out_dir, "raw.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        found = list(dict.fromkeys(row["allocator"] for row in rows))
        allocators = [a for a in COLOURS if a in found] + [a for a in found if a not in COLOURS]
        results = cls(out_dir, allocators, record=False)
        for row in rows:
            run = measure.Run(row["status"], float(row["seconds"]), int(row["peak_rss_kib"]), "",
                              float(row["cpu_seconds"]))
            results.note(label_of(row["workload"], int(row["threads"])), row["allocator"], run)
        return results

    def note(self, label, allocator, run):
        if label not in self.labels:
            self.labels.append(label)
        self.rows.append((label, allocator, run))

    def add(self, workload, label, threads, allocator, repetition, run):
        self.note(label, allocator, run)
        self.writer.writerow([workload.name, threads if workload.threaded else 1, allocator,
                              repetition, f"{run.seconds:.4f}", run.peak_rss_kib,
                              f"{run.cpu_seconds:.4f}", run.status])
        self.raw.flush()

    def close(self):
        if self.raw:
            self.raw.close()

    def cell(self, label, allocator):
        """(status, runs) of one workload and allocator; status ok when all runs verified."""
        runs = [run for l, a, run in self.rows if l == label and a == allocator]
        if not runs:
            return "absent", []
        for status in ("skip", "timeout", "fail"):
            if any(run.status == status for run in runs):
                return status, []
        return "ok", runs


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def summarise(results):
    """{metric: {label: {allocator: (median, min, max) or a status}}}."""
    summary = {key: {} for key, _, _, _ in METRICS}
    for label in results.labels:
        for key, _, attribute, _ in METRICS:
            summary[key][label] = {}
            for allocator in results.allocators:
                status, runs = results.cell(label, allocator)
                values = [getattr(run, attribute) for run in runs]
                summary[key][label][allocator] = \
                    (statistics.median(values), min(values), max(values)) if status == "ok" else status
    return summary


def write_summary_csv(results, summary, path):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["workload", "allocator", "status"] +
                        [f"{stat}_{key}" for key, _, _, _ in METRICS for stat in ("median", "min", "max")])
        for label in results.labels:
            for allocator in results.allocators:
                first = summary[METRICS[0][0]][label][allocator]
                if not isinstance(first, tuple):
                    writer.writerow([label, allocator, first] + [""] * 3 * len(METRICS))
                    continue
                values = [summary[key][label][allocator] for key, _, _, _ in METRICS]
                writer.writerow([label, allocator, "ok"] + [f"{v:.4f}" for triple in values for v in triple])


def ratios(results, table):
    """{label: {allocator: (median ratio, min ratio, max ratio) or status}} vs the best median."""
    out = {}
    for label in results.labels:
        cells = table[label]
        medians = [v[0] for v in cells.values() if isinstance(v, tuple)]
        best = min(medians) if medians else None
        out[label] = {}
        for allocator, value in cells.items():
            if isinstance(value, tuple) and best and best > 0:
                out[label][allocator] = tuple(v / best for v in value)
            else:
                out[label][allocator] = value if not isinstance(value, tuple) else "n/a"
        out[label]["best"] = best
    return out


def format_best(metric, best):
    if best is None:
        return "-"
    return f"{best / 1024:.1f} MiB" if metric == "rss" else f"{best:.3f} s"


def markdown_table(results, metric, relative):
    allocators = results.allocators
    lines = [f"| workload | best | " + " | ".join(allocators) + " |",
             "|---|---:|" + "---:|" * len(allocators)]
    for label in results.labels:
        row = relative[label]
        cells = []
        for allocator in allocators:
            value = row[allocator]
            if isinstance(value, tuple):
                text = f"{value[0]:.2f} ({value[1]:.2f}-{value[2]:.2f})"
                cells.append(f"**{text}**" if value[0] == 1.0 else text)
            else:
                cells.append(value)
        lines.append(f"| {label} | {format_best(metric, row['best'])} | " + " | ".join(cells) + " |")
    means = []
    for allocator in allocators:
        values = [relative[l][allocator][0] for l in results.labels if isinstance(relative[l][allocator], tuple)]
        counted = len(values)
        text = f"{geometric_mean(values):.2f}" if values else "-"
        if counted != len(results.labels):
            text += f" ({counted}/{len(results.labels)})"
        means.append(text)
    lines.append("| **geometric mean** | | " + " | ".join(means) + " |")
    return "\n".join(lines)


def write_chart(results, metric, relative, out_dir):
    """A clustered bar chart of the ratios (log scale) via gnuplot; returns the PNG name or None."""
    if not shutil.which("gnuplot"):
        return None
    data = os.path.join(out_dir, f"{metric}.dat")
    with open(data, "w") as f:
        for label in results.labels:
            values = [relative[label][a][0] if isinstance(relative[label][a], tuple) else "NaN"
                      for a in results.allocators]
            f.write('"' + label + '" ' + " ".join(f"{v:.4f}" if v != "NaN" else v for v in values) + "\n")
    png = f"{metric}.png"
    title = "wall time" if metric == "time" else "peak RSS"
    plots = ", ".join(f"'{data}' using {i + 2}:xtic(1) title '{a}' lc rgb '{COLOURS.get(a, '#777777')}'"
                      for i, a in enumerate(results.allocators))
    script = f"""
set terminal pngcairo size 1400,640 font 'sans,10'
set output '{os.path.join(out_dir, png)}'
set title '{title}, ratio to the best allocator per workload (lower is better, log scale)'
set datafile missing 'NaN'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xrange [-0.6:{len(results.labels) - 0.4}]
set logscale y 2
set yrange [0.9:*]
set ytics (1, 1.25, 1.5, 2, 3, 4, 8, 16, 32)
set grid ytics
set key top left
set xtics rotate by -40 scale 0
plot {plots}
"""
    result = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    return png if result.returncode == 0 else None


def write_report(results, header, out_dir):
    """Writes summary.csv, table.md and the charts; returns the Markdown text."""
    summary = summarise(results)
    write_summary_csv(results, summary, os.path.join(out_dir, "summary.csv"))
    sections = [header]
    for metric, title, _, charted in METRICS:
        relative = ratios(results, summary[metric])
        sections.append(f"### {title}: ratio to the best allocator (median, min-max)\n\n"
                        + markdown_table(results, metric, relative))
        chart = write_chart(results, metric, relative, out_dir) if charted else None
        if chart:
            sections.append(f"![{title}]({chart})")
        elif charted and not shutil.which("gnuplot"):
            sections.append("(no chart: needs gnuplot; apt-get install -y gnuplot-nox)")
    text = "\n\n".join(sections) + "\n"
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(text)
    return text
