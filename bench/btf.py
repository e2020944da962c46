"""Benchmark 7: kernel BTF cost — opening vmlinux BTF and looking up `struct task_struct`
with all its members, cold (no index cache: the index is built) and warm (index read
from the cache), each in a fresh process; and `-lv 'struct task_struct'` against bpftrace.

`python bench/btf.py` prints the section; `--write` puts it into bench/RESULTS.md
(replacing an earlier BTF section). bench/run.py includes it in full runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import common  # noqa: E402

# Runs in a child: times (ms) of each step, measured inside the process so the
# interpreter's own start-up (the same with or without BTF) is left out.
CHILD = """
import json, time
import pytrace.driver, pytrace.parser, pytrace.passes  # what any compile imports already
clock = time.process_time  # CPU time (user + system): steady on a shared machine
t1 = clock()
from pytrace.btf import kernel_btf
from pytrace.typetable import TypeTable
t2 = clock()
kernel = kernel_btf()
t3 = clock()
task = TypeTable().lookup("struct task_struct")
members = len(task.fields)
t4 = clock()
print(json.dumps({"import": (t2 - t1) * 1e3, "open": (t3 - t2) * 1e3,
                  "lookup": (t4 - t3) * 1e3, "total": (t4 - t1) * 1e3, "members": members}))
"""
LISTING = ("from pytrace.btf.listing import type_listing; "
           "print('\\n'.join(type_listing('struct task_struct', True)))")


def _env(cache: str) -> dict[str, str]:
    env = {**os.environ, "XDG_CACHE_HOME": cache, "PYTHONPATH": common.REPO}
    env.pop("PYTRACE_NO_CACHE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed pytrace has its .pyc files
    return env


def _child(cache: str) -> dict[str, float]:
    env = _env(cache)
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                       check=True)
    return json.loads(r.stdout)


def _wall(argv: list[str], cache: str) -> float:
    env = _env(cache)
    t = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, check=True)
    return time.perf_counter() - t


def measure(rounds: int) -> dict[str, object]:
    cold: list[dict[str, float]] = []
    warm: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as cache:
        _child(cache)  # writes the .pyc files, as an installed pytrace has them
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(_child(cache))
            warm.append(_child(cache))
    out: dict[str, object] = {"rounds": rounds, "members": warm[-1]["members"]}
    for name, runs in (("cold", cold), ("warm", warm)):
        out[name] = {k: common.median([r[k] for r in runs]) for k in ("import", "open", "lookup",
                                                                        "total")}
    with tempfile.TemporaryDirectory() as cache:
        _child(cache)  # the index cached, as every run after the first has it
        py = [_wall([sys.executable, "-c", LISTING], cache) for _ in range(rounds)]
        out["listing_pytrace"] = common.median(py) * 1e3
        if common.have_bpftrace():
            bt = [_wall(["bpftrace", "-lv", "struct task_struct"], cache) for _ in range(rounds)]
            out["listing_bpftrace"] = common.median(bt) * 1e3
    return out


def render(m: dict[str, object]) -> str:
    cold, warm = m["cold"], m["warm"]
    assert isinstance(cold, dict) and isinstance(warm, dict)
    lines = [
        f"## 7. BTF: `struct task_struct` and its {m['members']} members (median of "
        f"{m['rounds']}, fresh process each)",
        "",
        "CPU time (user + system) inside a process that has already imported what every "
        "compile imports (the parser and passes: not BTF's cost). cold = no "
        "index cache (the index of vmlinux's types is built and stored); warm = index read "
        "from `$XDG_CACHE_HOME/pytrace/btf/`.",
        "",
        "| run | import ms | open vmlinux ms | lookup + convert ms | total CPU ms | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, row, target in (("cold", cold, "≤ 50 ms over today"), ("warm", warm, "")):
        ok = "" if not target else ("met" if row["total"] <= 50 else "**missed**")
        lines.append(f"| {name} | {row['import']:.1f} | {row['open']:.1f} | {row['lookup']:.1f} | "
                     f"{row['total']:.1f} | {target} {ok} |")
    lines.append("")
    py = m.get("listing_pytrace")
    bt = m.get("listing_bpftrace")
    if isinstance(py, float):
        text = f"`-lv 'struct task_struct'` wall: pytrace {py:.0f} ms"
        if isinstance(bt, float):
            text += f", bpftrace {bt:.0f} ms, ratio {py / bt:.2f}"
        lines += [text + " (pytrace through `pytrace.btf.listing`, index cached).", ""]
    lines += ["A program that uses no kernel type does no BTF work at all (nothing under "
              "`pytrace.btf` is imported).", ""]
    return "\n".join(lines)


def write(section: str, path: str) -> None:
    text = open(path).read() if os.path.exists(path) else ""
    pattern = re.compile(r"## 7\. BTF.*?(?=\n## |\n_Suite wall time|\Z)", re.S)
    if pattern.search(text):
        text = pattern.sub(section.rstrip("\n") + "\n", text, count=1)
    elif "\n_Suite wall time" in text:
        text = text.replace("\n_Suite wall time", "\n" + section + "\n_Suite wall time", 1)
    else:
        text += "\n" + section
    with open(path, "w") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    ns = ap.parse_args(argv)
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        print("bench: the kernel has no BTF", file=sys.stderr)
        return 1
    section = render(measure(ns.rounds))
    if ns.write:
        write(section, os.path.join(common.HERE, "RESULTS.md"))
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
