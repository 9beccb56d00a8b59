"""Benchmarks the assistant, as `make run` starts it, against two anchors in one run, and writes
docs/benchmarks.md and its plots:

- the anchor: the same assistant with Rasa's default machine learning (bench/anchor_config.yml),
  started as stock `rasa run`;
- the starter bot: `rasa init`'s project as it comes (its data, its model), stock `rasa run`.

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
from typing import Any, Callable, Dict, List, Optional, Tuple

import requests
import yaml

from scripts import launcher
from scripts.launcher import RASA, ROOT, environment
from scripts.services import PostgresServer, RedisServer, free_port

ROUTING_COMPONENT = "components.understanding.UnderstandingExtractor"
CONFIGS = {"assistant": ROOT / "config.yml", "anchor": ROOT / "bench" / "anchor_config.yml"}
STARTER = "starter"  # Rasa's starter bot: `rasa init --no-prompt`, trained by it
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
    # the assistant's classifier alone: the pipeline without the routing of UnderstandingExtractor,
    # which the anchor does not have (it overrules the classifier with what the words and, in a
    # conversation, the clusters just shown say; single held-out messages have no conversation)
    classifier_intent_f1: Optional[float] = None
    entity_f1: float = 0.0
    recommendation_top1: float = 0.0
    # store -> latency of messages 1..N: for each message number, the median over the conversations
    growth_ms: Dict[str, List[float]] = field(default_factory=dict)


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


def init_starter(workdir: Path, result: Result) -> Path:
    """Rasa's starter bot, created and trained by `rasa init --no-prompt` (its own data, config and
    channels); its model."""
    project = workdir / STARTER
    project.mkdir()
    result.train_scratch_s = run_quiet([RASA, "init", "--no-prompt", "--init-dir", str(project)], environment(),
                                       cwd=project)
    return max((project / "models").glob("*.tar.gz"))


class Servers:
    """The assistant as `make run` starts it (scripts/launcher.py: runtime/, the guarded channels);
    the anchor as stock `rasa run` with Rasa's own channels, both on an SQLite tracker store; the
    starter bot as `rasa init` made it (stock `rasa run` in its project: no action server, Rasa's
    in-memory tracker store)."""

    def __init__(self, name: str, model: Path, workdir: Path, stores: Dict[str, str] = None) -> None:
        """`stores`: the DB_*/REDIS_* of a PostgreSQL and a Redis (endpoints.scale-out.yml), else SQLite."""
        self.name, self.stores = name, stores
        self.model, self.workdir = model, workdir
        self.rasa_port, self.actions_port = free_port(), free_port()
        self.processes: List[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self) -> float:
        """Starts both servers at once; seconds until the first answer that needs the actions."""
        # The rate limits off: the load comes from one address at machine speed, as no person sends.
        env = environment({name: value for name, value in os.environ.items()
                           if name not in ("RASA_API_TOKEN", "WEB_ORIGIN")}, RATE_LIMITS="off")
        if self.stores:
            endpoints = ROOT / "endpoints.scale-out.yml"
            env.update(self.stores, ACTION_SERVER_URL=f"http://127.0.0.1:{self.actions_port}/webhook")
        else:
            endpoints = launcher.sqlite_endpoints(self.workdir / "endpoints.yml", self.actions_port,
                                                  self.workdir / f"bench-{self.name}.db")
        if self.name == "assistant":
            rasa = launcher.rasa_command(self.rasa_port, endpoints,
                                         launcher.write_credentials(self.workdir / "credentials.yml", env), env,
                                         self.model)
        elif self.name == STARTER:
            rasa = [RASA, "run", "--model", str(self.model), "--port", str(self.rasa_port)]
        else:
            rasa = [RASA, "run", "--model", str(self.model), "--port", str(self.rasa_port),
                    "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")]
        log = self.workdir / "servers.log"
        started = time.perf_counter()
        if self.name == STARTER:
            self.processes = [launcher.launch(rasa, env, log, cwd=self.model.parent.parent)]
        else:
            self.processes = [launcher.launch(launcher.actions_command(self.actions_port),
                                              launcher.actions_environment(env), log),
                              launcher.launch(rasa, env, log)]
        # The first answer that needs the actions (the starter bot's: any answer to a greeting).
        question, expected = ("hello", "") if self.name == STARTER else ("What is Skywin?", "Skywin")
        deadline = started + 600
        while time.perf_counter() < deadline:
            try:
                reply = self.say("bench-start", question)
                if any(expected in (m.get("text") or "") for m in reply):
                    return time.perf_counter() - started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError("no first answer within 600 s")

    def say(self, sender: str, text: str) -> List[dict]:
        response = requests.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=120)
        response.raise_for_status()
        return response.json()

    def _per_process(self, measure: Callable[[int], float]) -> Dict[str, float]:
        """{"rasa": …, "actions": …}; the starter bot has no action server (0)."""
        *actions, rasa = self.processes
        return {"actions": measure(actions[0].pid) if actions else 0.0, "rasa": measure(rasa.pid)}

    def rss(self) -> Dict[str, float]:
        return self._per_process(rss_mb)

    def cpu(self) -> Dict[str, float]:
        return self._per_process(cpu_seconds)

    def stop(self) -> None:
        launcher.stop(self.processes[::-1], timeout=30)


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
    """`runs` starts; each is loaded at every level, and each figure is the median over the starts
    (one load's p95 and throughput moved by a tenth from one start to the next)."""
    loads: Dict[int, List[Dict[str, float]]] = {level: [] for level in levels}
    rss_loaded: List[Dict[str, float]] = []
    for run in range(runs):
        servers = Servers(name, model, workdir)
        try:
            result.start_s.append(servers.start())
            time.sleep(2)
            rss = servers.rss()
            result.rss_rasa_idle_mb.append(rss["rasa"])
            result.rss_actions_idle_mb.append(rss["actions"])
            for concurrency in levels:
                loads[concurrency].append(load(servers, concurrency, duration))
            rss_loaded.append(servers.rss())
        finally:
            servers.stop()
    result.load = {level: {key: statistics.median(run[key] for run in runs_at_level) for key in runs_at_level[0]}
                   for level, runs_at_level in loads.items()}
    result.rss_rasa_loaded_mb = statistics.median(rss["rasa"] for rss in rss_loaded)
    result.rss_actions_loaded_mb = statistics.median(rss["actions"] for rss in rss_loaded)


def growth(servers: Servers, messages: int) -> List[float]:
    """Latency (ms) of each message of one conversation of `messages` messages, one at a time."""
    sender = f"bench-growth-{random.random()}"
    latencies = []
    for number in range(messages):
        started = time.perf_counter()
        servers.say(sender, CONVERSATION[number % len(CONVERSATION)])
        latencies.append(1000 * (time.perf_counter() - started))
    return latencies


def measure_growth(model: Path, workdir: Path, result: Result, messages: int, conversations: int) -> None:
    """The assistant's growth curve on SQLite and on PostgreSQL + Redis: `conversations` conversations
    one after the other, and for each message number the median of their latencies (one
    conversation's curve moves with whatever else the machine does at that minute)."""
    for store in ("sqlite", "postgresql"):
        services = (PostgresServer(), RedisServer()) if store == "postgresql" else ()
        servers = None
        try:
            for service in services:
                service.start()
            stores = {**services[0].env(), **services[1].env()} if services else None
            servers = Servers("assistant", model, workdir / f"growth-{store}", stores)
            servers.workdir.mkdir(exist_ok=True)
            servers.start()
            curves = [growth(servers, messages) for _ in range(conversations)]
            result.growth_ms[store] = [statistics.median(latencies) for latencies in zip(*curves)]
        finally:
            if servers:
                servers.stop()
            for service in services:
                service.destroy()


def growth_ratio(latencies: List[float]) -> float:
    """Median of messages 251–300 (the last 50) over the median of messages 1–50."""
    return statistics.median(latencies[-50:]) / statistics.median(latencies[:50])


def measure_accuracy(name: str, workdir: Path, result: Result) -> None:
    """Intent and entity F1 on a held-out 20 % of the NLU data (same split for both); for the
    assistant, also the intent F1 of its classifier alone."""
    split = workdir / "split"
    if not split.exists():
        run_quiet([RASA, "data", "split", "nlu", "-u", str(ROOT / "data" / "nlu"), "--training-fraction", "0.8",
                   "--random-seed", "42", "--out", str(split)], environment())
    intents, entity_reports = nlu_reports(name, CONFIGS[name], split, workdir)
    result.intent_f1 = intents["weighted avg"]["f1-score"]
    result.entity_f1 = max((r.get("weighted avg", {}).get("f1-score", 0.0) for r in entity_reports), default=0.0)
    if name == "assistant":
        config = yaml.safe_load(CONFIGS[name].read_text(encoding="utf-8"))
        config["pipeline"] = [c for c in config["pipeline"] if c["name"] != ROUTING_COMPONENT]
        classifier_config = workdir / "config-classifier.yml"
        classifier_config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        intents, _ = nlu_reports(f"{name}-classifier", classifier_config, split, workdir)
        result.classifier_intent_f1 = intents["weighted avg"]["f1-score"]


def nlu_reports(name: str, config: Path, split: Path, workdir: Path) -> Tuple[dict, List[dict]]:
    """`rasa train nlu` on the split's training part, `rasa test nlu` on its test part: the intent
    report and the entity extractors' reports."""
    env = environment(RASA_CACHE_DIRECTORY=str(workdir / f"cache-nlu-{name}"))
    models = workdir / f"nlu-{name}"
    run_quiet([RASA, "train", "nlu", "--config", str(config), "--nlu", str(split / "training_data.yml"),
               "--out", str(models), "--fixed-model-name", "nlu"], env)
    report_dir = workdir / f"report-{name}"
    run_quiet([RASA, "test", "nlu", "--model", str(models / "nlu.tar.gz"), "--nlu", str(split / "test_data.yml"),
               "--out", str(report_dir)], env)
    intents = json.loads((report_dir / "intent_report.json").read_text())
    return intents, [json.loads(report.read_text()) for report in report_dir.glob("*Extractor_report.json")]


def recommendation_top1() -> float:
    from scripts.evaluate_recommendations import evaluate

    return evaluate().top1_accuracy


@dataclass
class Row:
    measure: str
    values: Dict[str, Optional[float]]  # by configuration; None: not measured for it
    target: str = ""
    met: Optional[Callable[[float, Optional[float], Optional[float]], bool]] = None  # (value, / anchor, / starter)


def report_rows(results: Dict[str, Result], levels: List[int]) -> List[Row]:
    """The table's rows; the targets are issue 12's (a ratio is the assistant's over an anchor's)."""
    def each(measure: Callable[[Result], Optional[float]]) -> Dict[str, Optional[float]]:
        return {name: (measure(result) if result.start_s else None) for name, result in results.items()}

    median = statistics.median
    rows = [
        Row("Training from scratch (s; the starter bot: `rasa init`, which trains)", each(lambda r: r.train_scratch_s)),
        Row("Retrain after one YAML edit (s)", {**each(lambda r: r.retrain_s), STARTER: None}),
        Row("Start to first answer (s, median)", each(lambda r: median(r.start_s)), "≤ 2.5 s", lambda v, a, s: v <= 2.5),
        Row("Rasa server RSS idle (MB, median)", each(lambda r: median(r.rss_rasa_idle_mb)),
            "≤ 0.40 of the anchor, ≤ 450 MB", lambda v, a, s: v <= 450 and a <= 0.40),
        Row("Rasa server RSS after load (MB, median)", each(lambda r: r.rss_rasa_loaded_mb),
            "≤ 0.40 of the anchor, ≤ 450 MB", lambda v, a, s: v <= 450 and a <= 0.40),
        Row("Action server RSS idle (MB, median)", {**each(lambda r: median(r.rss_actions_idle_mb)), STARTER: None}),
        Row("Action server RSS after load (MB, median)", {**each(lambda r: r.rss_actions_loaded_mb), STARTER: None}),
    ]
    for level in levels:
        def at(key: str) -> Dict[str, Optional[float]]:
            return each(lambda r: r.load[level][key])

        rows += [
            Row(f"p50 latency, {level} conversations (ms)", at("p50_ms")),
            Row(f"p95 latency, {level} conversations (ms)", at("p95_ms"),
                *(("≤ 0.25 of the anchor, ≤ 0.50 of the starter bot", lambda v, a, s: a <= 0.25 and s <= 0.50)
                  if level == 10 else ())),
            Row(f"p99 latency, {level} conversations (ms)", at("p99_ms")),
            Row(f"Throughput, {level} conversations (msg/s)", at("throughput"),
                *(("≥ 4.00 × the anchor", lambda v, a, s: a >= 4.0) if level == 50 else ())),
            Row(f"Errors, {level} conversations", at("errors")),
            Row(f"Load generator CPU, {level} conversations (% of a core)", at("client_cpu_pct")),
            Row(f"Rasa server CPU per message, {level} conversations (ms)", at("rasa_cpu_ms_per_message")),
            Row(f"Action server CPU per message, {level} conversations (ms)", {**at("actions_cpu_ms_per_message"), STARTER: None}),
        ]
    assistant = results["assistant"]
    for store, latencies in assistant.growth_ms.items():
        rows += [Row(f"Growth curve, {store}: median of messages 1–50 (ms)", {"assistant": median(latencies[:50])}),
                 Row(f"Growth curve, {store}: median of messages {len(latencies) - 49}–{len(latencies)} (ms)",
                     {"assistant": median(latencies[-50:])}),
                 Row(f"Growth curve, {store}: growth ratio (last 50 / first 50)", {"assistant": growth_ratio(latencies)},
                     "≤ 1.25", lambda v, a, s: v <= 1.25)]
    same_or_better = ("≥ 1.00 × the anchor", lambda v, a, s: round(a, 3) >= 1.0)  # equal scores can differ in the 16th digit
    rows += [
        Row("Intent F1, held-out 20 % (the classifier; the anchor has no routing)",
            {"assistant": assistant.classifier_intent_f1, "anchor": results["anchor"].intent_f1, STARTER: None},
            *same_or_better),
        Row("Intent F1, held-out 20 % (the whole pipeline, routing included)", {**each(lambda r: r.intent_f1), STARTER: None}),
        Row("Entity F1, held-out 20 %", {**each(lambda r: r.entity_f1), STARTER: None}, *same_or_better),
        Row("Recommendation top-1", {**each(lambda r: r.recommendation_top1), STARTER: None}, *same_or_better),
    ]
    return rows


def write_report(results: Dict[str, Result], args: argparse.Namespace, elapsed: float) -> None:
    docs = ROOT / "docs"

    def cell(value: Optional[float]) -> str:
        if value is None:
            return "—"
        return f"{value:.{3 if isinstance(value, float) and abs(value) < 10 else 1}f}"

    def ratio(value: Optional[float], other: Optional[float]) -> Optional[float]:
        return value / other if value is not None and other else None

    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (bench/run.py); the profile section below the marker is written by hand. -->",
        "",
        f"Run of {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"Linux {platform.release()}; {args.runs} starts per configuration, each loaded {args.duration:.0f} s per "
        f"level (every figure the median of the starts); the whole run took {elapsed / 60:.1f} min.",
        "",
        "The **assistant** is `config.yml`, started as `make run` starts it (`scripts/launcher.py`: `runtime/`, the guarded "
        "channels, the bounded SQLite tracker store). The **anchor** is the same assistant (data, domain, actions, knowledge "
        "matcher, language detector) with the machine-learning parts of `rasa init` (`bench/anchor_config.yml`), started as "
        "stock `rasa run`. The **starter bot** is `rasa init --no-prompt` as it comes (its own data and model), stock "
        "`rasa run` in its project (no action server). Every configuration gets the same REST load. "
        "Ratio = assistant / anchor, assistant / starter bot; the targets are issue 12's.",
        "",
        "| measure | assistant | anchor | ratio | starter bot | ratio | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in report_rows(results, args.levels):
        value, anchor, starter = (row.values.get(name) for name in ("assistant", "anchor", STARTER))
        to_anchor, to_starter = ratio(value, anchor), ratio(value, starter)
        met = "" if row.met is None else ("yes" if row.met(value, to_anchor, to_starter) else "**no**")
        lines.append(f"| {row.measure} | {cell(value)} | {cell(anchor)} | {cell(to_anchor)} | {cell(starter)} | "
                     f"{cell(to_starter)} | {row.target} | {met} |")
    lines += ["", "![latency against concurrency](benchmarks-latency.png)", ""]
    growth_ms = results["assistant"].growth_ms
    if growth_ms:
        lines += [f"The growth rows: the assistant only, {args.growth_conversations} conversations of "
                  f"{len(next(iter(growth_ms.values())))} messages each (the load's script in a loop), one after the "
                  "other, one message at a time; for each message number, the median of the conversations' latencies; "
                  "PostgreSQL + Redis as `make run-scale-out` uses them (endpoints.scale-out.yml), one instance.",
                  "", "![latency against message number](benchmarks-growth.png)", ""]
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

    if growth_ms:
        figure, axis = plt.subplots(figsize=(6, 4))
        for store, latencies in growth_ms.items():
            axis.plot(range(1, len(latencies) + 1), latencies, ".", markersize=3, label=store)
        axis.set_xlabel("message number in the conversation")
        axis.set_ylabel("latency (ms)")
        axis.set_yscale("log")
        axis.legend()
        axis.set_title("Latency against message number (median of the conversations)")
        figure.tight_layout()
        figure.savefig(docs / "benchmarks-growth.png", dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50])
    parser.add_argument("--messages", type=int, default=300, help="messages of the growth curve's conversations")
    parser.add_argument("--growth-conversations", type=int, default=3, help="conversations of the growth curve")
    parser.add_argument("--quick", action="store_true", help="1 start, 5 s of load: to try the script")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.duration = 1, 5.0
    started = time.perf_counter()
    results = {name: Result() for name in (*CONFIGS, STARTER)}
    top1 = recommendation_top1()  # the ranker is not a machine-learning part: the same for both
    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        workdir = Path(temporary)
        print(f"[{STARTER}] rasa init (trains)…", flush=True)
        starter_model = init_starter(workdir, results[STARTER])
        print(f"[{STARTER}] serving…", flush=True)
        measure_serving(STARTER, starter_model, workdir, results[STARTER], args.runs, args.duration, args.levels)
        for name in CONFIGS:
            result = results[name]
            print(f"[{name}] training…", flush=True)
            model = measure_training(name, workdir, result)
            print(f"[{name}] serving…", flush=True)
            measure_serving(name, model, workdir, result, args.runs, args.duration, args.levels)
            if name == "assistant":
                print(f"[{name}] growth curve…", flush=True)
                measure_growth(model, workdir, result, args.messages, args.growth_conversations)
            print(f"[{name}] accuracy…", flush=True)
            measure_accuracy(name, workdir, result)
            result.recommendation_top1 = top1
    write_report(results, args, time.perf_counter() - started)
    print((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
