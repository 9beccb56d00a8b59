"""Benchmarks the assistant against its anchor (the same assistant with Rasa's default machine
learning, bench/anchor_config.yml) in one run, and writes docs/benchmarks.md and its plot.

Usage: python bench/run.py [--runs 3] [--duration 20] [--levels 1,10,50] [--quick]
"""

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import RASA, RASA_SERVER, action_endpoint_yaml, environment, free_port  # noqa: E402

CONFIGS = {"assistant": ROOT / "config.yml", "anchor": ROOT / "bench" / "anchor_config.yml"}
# How each one's Rasa server is started: the assistant as scripts/run.sh does (with runtime/), the
# anchor as stock `rasa run`.
SERVER_COMMANDS = {"assistant": RASA_SERVER, "anchor": [RASA]}
# One conversation of the load: questions, lists, follow-ups, a recommendation, out of scope.
CONVERSATION = [
    "What is Skywin?", "what are its axes?", "list the clusters of the health sector", "the second one",
    "compare BioWin and WagrALIM", "c'est quoi le plan Marshall ?", "We make vaccines, which cluster should we join?",
    "how do we become a member?", "what's the weather tomorrow?", "quels sont les secteurs clés ?",
]


@dataclass
class Result:
    train_scratch_s: float = 0.0
    retrain_s: float = 0.0
    start_s: List[float] = field(default_factory=list)
    rss_rasa_idle_mb: List[float] = field(default_factory=list)
    rss_actions_idle_mb: List[float] = field(default_factory=list)
    rss_rasa_loaded_mb: float = 0.0
    rss_actions_loaded_mb: float = 0.0
    load: Dict[int, Dict[str, float]] = field(default_factory=dict)
    intent_f1: float = 0.0
    entity_f1: float = 0.0
    recommendation_top1: float = 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_quiet(args: List[str], env: Dict[str, str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def train(config: Path, data: Path, out: Path, cache: Path) -> float:
    env = environment(RASA_CACHE_DIRECTORY=str(cache))
    return run_quiet([RASA, "train", "--config", str(config), "--domain", str(ROOT / "domain.yml"),
                      "--data", str(data), "--out", str(out), "--fixed-model-name", "model"], env)


def measure_training(name: str, workdir: Path, result: Result) -> Path:
    """From scratch (empty cache), then after one NLU example is added (the cache kept)."""
    data = workdir / f"data-{name}"
    shutil.copytree(ROOT / "data", data)
    cache = workdir / f"cache-{name}"
    result.train_scratch_s = train(CONFIGS[name], data, workdir / f"models-{name}", cache)
    model = workdir / f"models-{name}" / "model.tar.gz"
    edited = data / "nlu" / "en" / "chitchat.yml"
    content = yaml.safe_load(edited.read_text(encoding="utf-8"))
    content["nlu"][0]["examples"] += "- hello, anyone around today?\n"
    edited.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result.retrain_s = train(CONFIGS[name], data, workdir / f"models-{name}-edited", cache)
    return model


class Servers:
    def __init__(self, name: str, model: Path, workdir: Path) -> None:
        self.server_command = SERVER_COMMANDS[name]
        self.model, self.workdir = model, workdir
        self.rasa_port, self.actions_port = free_port(), free_port()
        self.processes: List[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self) -> float:
        """Starts both servers at once; seconds until the first answer that needs the actions."""
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(
            action_endpoint_yaml(self.actions_port)
            + f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {self.workdir / 'bench.db'}\n"
        )
        env = environment()
        log = (self.workdir / "servers.log").open("ab")
        started = time.perf_counter()
        self.processes = [
            subprocess.Popen([RASA, "run", "actions", "--actions", "actions", "--port", str(self.actions_port)],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
            subprocess.Popen([*self.server_command, "run", "--model", str(self.model), "--port", str(self.rasa_port),
                              "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
        ]
        deadline = started + 600
        while time.perf_counter() < deadline:
            try:
                reply = self.say("bench-start", "What is Skywin?")
                if any("Skywin" in (m.get("text") or "") for m in reply):
                    return time.perf_counter() - started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError("no first answer within 600 s")

    def say(self, sender: str, text: str) -> List[dict]:
        response = requests.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
        response.raise_for_status()
        return response.json()

    def rss(self) -> Dict[str, float]:
        return {"actions": rss_mb(self.processes[0].pid), "rasa": rss_mb(self.processes[1].pid)}

    def cpu(self) -> Dict[str, float]:
        return {"actions": cpu_seconds(self.processes[0].pid), "rasa": cpu_seconds(self.processes[1].pid)}

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def load(servers: Servers, concurrency: int, duration: float) -> Dict[str, float]:
    """`concurrency` conversations at once, each message sent when the previous answer came; each
    conversation is the 10-message script, then the next one starts (a new sender)."""
    latencies: List[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    servers_cpu_before = servers.cpu()

    def converse(worker: int) -> None:
        nonlocal errors
        session = requests.Session()
        turn = 0
        while time.perf_counter() < stop_at:
            if turn % len(CONVERSATION) == 0:  # a new visitor for each run through the script
                sender = f"bench-{concurrency}-{worker}-{turn}-{random.random()}"
            text = CONVERSATION[turn % len(CONVERSATION)]
            started = time.perf_counter()
            try:
                response = session.post(f"{servers.url}/webhooks/rest/webhook",
                                        json={"sender": sender, "message": text}, timeout=120)
                ok = response.status_code == 200 and response.json()
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1
            turn += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(converse, range(concurrency)))
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    servers_cpu = {name: seconds - servers_cpu_before[name] for name, seconds in servers.cpu().items()}
    answered = max(1, len(latencies))
    return {
        "p50_ms": percentile(latencies, 0.50) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000, "throughput": len(latencies) / wall,
        "errors": errors, "messages": len(latencies), "client_cpu_pct": 100 * cpu / wall,
        "rasa_cpu_ms_per_message": 1000 * servers_cpu["rasa"] / answered,
        "actions_cpu_ms_per_message": 1000 * servers_cpu["actions"] / answered,
    }


def measure_serving(name: str, model: Path, workdir: Path, result: Result, runs: int, duration: float, levels: List[int]) -> None:
    for run in range(runs):
        servers = Servers(name, model, workdir)
        try:
            result.start_s.append(servers.start())
            time.sleep(2)
            rss = servers.rss()
            result.rss_rasa_idle_mb.append(rss["rasa"])
            result.rss_actions_idle_mb.append(rss["actions"])
            if run == runs - 1:  # the load, once, on the last start
                for concurrency in levels:
                    result.load[concurrency] = load(servers, concurrency, duration)
                rss = servers.rss()
                result.rss_rasa_loaded_mb, result.rss_actions_loaded_mb = rss["rasa"], rss["actions"]
        finally:
            servers.stop()


def measure_accuracy(name: str, workdir: Path, result: Result) -> None:
    """Intent and entity F1 on a held-out 20 % of the NLU data (same split for both)."""
    split = workdir / "split"
    if not split.exists():
        run_quiet([RASA, "data", "split", "nlu", "-u", str(ROOT / "data" / "nlu"), "--training-fraction", "0.8",
                   "--random-seed", "42", "--out", str(split)], environment())
    train_file, test_file = split / "training_data.yml", split / "test_data.yml"
    env = environment(RASA_CACHE_DIRECTORY=str(workdir / f"cache-nlu-{name}"))
    models = workdir / f"nlu-{name}"
    run_quiet([RASA, "train", "nlu", "--config", str(CONFIGS[name]), "--nlu", str(train_file),
               "--out", str(models), "--fixed-model-name", "nlu"], env)
    report_dir = workdir / f"report-{name}"
    run_quiet([RASA, "test", "nlu", "--model", str(models / "nlu.tar.gz"), "--nlu", str(test_file),
               "--out", str(report_dir)], env)
    intents = json.loads((report_dir / "intent_report.json").read_text())
    result.intent_f1 = intents["weighted avg"]["f1-score"]
    scores = []
    for report in report_dir.glob("*Extractor_report.json"):
        data = json.loads(report.read_text())
        scores.append(data.get("weighted avg", {}).get("f1-score", 0.0))
    result.entity_f1 = max(scores) if scores else 0.0


def recommendation_top1() -> float:
    from scripts.evaluate_recommendations import evaluate

    return evaluate().top1_accuracy


def write_report(results: Dict[str, Result], args: argparse.Namespace, elapsed: float) -> None:
    docs = ROOT / "docs"
    a, b = results["assistant"], results["anchor"]

    def ratio(x: float, y: float) -> str:
        return f"{x / y:.2f}" if y else "n/a"

    rows = [
        ("Training from scratch (s)", a.train_scratch_s, b.train_scratch_s, "≤ 0.30"),
        ("Retrain after one YAML edit (s)", a.retrain_s, b.retrain_s, ""),
        ("Start to first answer (s, median)", statistics.median(a.start_s), statistics.median(b.start_s), "≤ 0.40"),
        ("Rasa server RSS idle (MB, median)", statistics.median(a.rss_rasa_idle_mb), statistics.median(b.rss_rasa_idle_mb), "≤ 0.60"),
        ("Rasa server RSS after load (MB)", a.rss_rasa_loaded_mb, b.rss_rasa_loaded_mb, ""),
        ("Action server RSS idle (MB, median)", statistics.median(a.rss_actions_idle_mb), statistics.median(b.rss_actions_idle_mb), ""),
        ("Action server RSS after load (MB)", a.rss_actions_loaded_mb, b.rss_actions_loaded_mb, ""),
    ]
    for level in args.levels:
        rows += [
            (f"p50 latency, {level} conversations (ms)", a.load[level]["p50_ms"], b.load[level]["p50_ms"], ""),
            (f"p95 latency, {level} conversations (ms)", a.load[level]["p95_ms"], b.load[level]["p95_ms"], "≤ 0.50" if level == 10 else ""),
            (f"p99 latency, {level} conversations (ms)", a.load[level]["p99_ms"], b.load[level]["p99_ms"], ""),
            (f"Throughput, {level} conversations (msg/s)", a.load[level]["throughput"], b.load[level]["throughput"], "≥ 2.00" if level == 50 else ""),
            (f"Errors, {level} conversations", a.load[level]["errors"], b.load[level]["errors"], ""),
            (f"Load generator CPU, {level} conversations (% of a core)", a.load[level]["client_cpu_pct"], b.load[level]["client_cpu_pct"], ""),
            (f"Rasa server CPU per message, {level} conversations (ms)", a.load[level]["rasa_cpu_ms_per_message"], b.load[level]["rasa_cpu_ms_per_message"], ""),
            (f"Action server CPU per message, {level} conversations (ms)", a.load[level]["actions_cpu_ms_per_message"], b.load[level]["actions_cpu_ms_per_message"], ""),
        ]
    rows += [
        ("Intent F1, held-out 20 %", a.intent_f1, b.intent_f1, "≥ 1.00"),
        ("Entity F1, held-out 20 %", a.entity_f1, b.entity_f1, "≥ 1.00"),
        ("Recommendation top-1", a.recommendation_top1, b.recommendation_top1, "≥ 1.00"),
    ]
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (bench/run.py); the profile section below the marker is written by hand. -->",
        "",
        f"Run of {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"Linux {platform.release()}; {args.runs} starts per configuration (medians), {args.duration:.0f} s of load per "
        f"level; the whole run took {elapsed / 60:.1f} min.",
        "",
        "The **assistant** is `config.yml`; the **anchor** is the same assistant (data, domain, actions, knowledge matcher, "
        "language detector) with the machine-learning parts of `rasa init` (`bench/anchor_config.yml`). Ratio = assistant / anchor.",
        "",
        "| measure | assistant | anchor | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    for name, x, y, target in rows:
        lines.append(f"| {name} | {x:.3f} | {y:.3f} | {ratio(x, y)} | {target} |" if isinstance(x, float) and x < 10
                     else f"| {name} | {x:.1f} | {y:.1f} | {ratio(x, y)} | {target} |")
    lines += ["", "![latency against concurrency](benchmarks-latency.png)", ""]
    profile_marker = "<!-- profile -->"
    existing = (docs / "benchmarks.md").read_text(encoding="utf-8") if (docs / "benchmarks.md").exists() else ""
    tail = existing[existing.index(profile_marker):] if profile_marker in existing else profile_marker + "\n"
    (docs / "benchmarks.md").write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")
    (docs / "benchmarks.json").write_text(json.dumps({k: v.__dict__ for k, v in results.items()}, indent=1), encoding="utf-8")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for name, result in results.items():
        for key, style in (("p50_ms", "-o"), ("p95_ms", "--o")):
            axis.plot(args.levels, [result.load[level][key] for level in args.levels], style, label=f"{name} {key[:3]}")
    axis.set_xlabel("concurrent conversations")
    axis.set_ylabel("latency (ms)")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xticks(args.levels, [str(level) for level in args.levels])
    axis.legend()
    axis.set_title("REST latency against concurrency")
    figure.tight_layout()
    figure.savefig(docs / "benchmarks-latency.png", dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50])
    parser.add_argument("--quick", action="store_true", help="1 start, 5 s of load: to try the script")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.duration = 1, 5.0
    started = time.perf_counter()
    results = {name: Result() for name in CONFIGS}
    top1 = recommendation_top1()  # the ranker is not a machine-learning part: the same for both
    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        workdir = Path(temporary)
        for name, result in results.items():
            print(f"[{name}] training…", flush=True)
            model = measure_training(name, workdir, result)
            print(f"[{name}] serving…", flush=True)
            measure_serving(name, model, workdir, result, args.runs, args.duration, args.levels)
            print(f"[{name}] accuracy…", flush=True)
            measure_accuracy(name, workdir, result)
            result.recommendation_top1 = top1
    write_report(results, args, time.perf_counter() - started)
    print((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
