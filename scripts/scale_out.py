#!/usr/bin/env python3
"""Runs the assistant as N Rasa instances and A action servers sharing one PostgreSQL tracker store
and one Redis lock store (endpoints.scale-out.yml), in the foreground; Ctrl-C stops everything.

    make run-scale-out N=2 A=1                      # or:
    .venv/bin/python scripts/scale_out.py --instances 2 --action-servers 1

Rasa instance i (0-based) listens on RASA_PORT+i (default 5005, 5006, …) and calls action server
i mod A, which listens on ACTIONS_PORT+(i mod A) (default 5055, …). Each instance serves REST,
socket.io, the optional Telegram/Slack channels (scripts/credentials.py) and `GET /health`.
HAProxy (haproxy.cfg.template, docs/deployment.md) is started in front of them on BALANCER_PORT
(default 5000; --balancer-port 0: none), its statistics page on BALANCER_PORT+1. The action servers get
CONVERSATIONS_DB (for "forget me") built from DB_*; WEB_ORIGIN, when set, is passed to `--cors` and
to the socket.io channel; ACTIONS_HOST and RASA_HOST are the action servers' and the instances'
interfaces (default 127.0.0.1).

PostgreSQL: with DB_HOST set, that server is used (DB_PORT, DB_NAME, DB_USER, DB_PASSWORD too);
otherwise a local one is started on a free loopback port in a temporary directory (removed at stop,
with its conversations). Redis likewise: REDIS_HOST (REDIS_PORT, REDIS_PASSWORD) or a local one.
Logs: var/scale-out/*.log.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from scripts import launcher
from scripts.launcher import ROOT, LaunchError
from scripts.services import PostgresServer, RedisServer, ServiceError, port_open

ENDPOINTS = ROOT / "endpoints.scale-out.yml"
OUT = ROOT / "var" / "scale-out"
DB_VARS = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
REDIS_VARS = ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD")


class Stop(Exception):
    pass


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def conversations_db(env: Dict[str, str]) -> str:
    """CONVERSATIONS_DB (actions/tracker_db.py: "forget me", purge and report scripts) for DB_*."""
    from urllib.parse import quote

    return (f"postgresql://{quote(env['DB_USER'], safe='')}:{quote(env['DB_PASSWORD'], safe='')}"
            f"@{env['DB_HOST']}:{env['DB_PORT']}/{quote(env['DB_NAME'], safe='')}")


def services(env: Dict[str, str], started: list) -> Dict[str, str]:
    """The DB_*/REDIS_* variables: the given servers, or local ones started here (added to `started`)."""
    values: Dict[str, str] = {}
    if env.get("DB_HOST"):
        missing = [v for v in DB_VARS if v not in env]
        if missing:
            raise Stop(f"DB_HOST is set: set {', '.join(missing)} too.")
        print(f"PostgreSQL: {env['DB_HOST']}:{env['DB_PORT']}, database {env['DB_NAME']} (from DB_*).")
    else:
        pg = PostgresServer(durable=True)
        started.append(pg)
        pg.start()
        values.update(pg.env())
        print(f"PostgreSQL: local, 127.0.0.1:{pg.port}, data in {pg.dir} (removed at stop).")
    if env.get("REDIS_HOST"):
        values.setdefault("REDIS_PORT", env.get("REDIS_PORT", "6379"))
        values.setdefault("REDIS_PASSWORD", env.get("REDIS_PASSWORD", ""))
        print(f"Redis: {env['REDIS_HOST']}:{env.get('REDIS_PORT', '6379')} (from REDIS_*).")
    else:
        red = RedisServer()
        started.append(red)
        red.start()
        values.update(red.env())
        print(f"Redis: local, 127.0.0.1:{red.port}.")
    return values


def tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    return "\n".join(text[-lines:])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--instances", type=int, default=2, help="Rasa instances (default 2)")
    parser.add_argument("-a", "--action-servers", type=int, default=1, help="action servers (default 1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", 5005)),
                        help="first Rasa port (default $RASA_PORT or 5005)")
    parser.add_argument("--actions-port", type=int, default=int(os.environ.get("ACTIONS_PORT", 5055)),
                        help="first action server port (default $ACTIONS_PORT or 5055)")
    parser.add_argument("--balancer-port", type=int, default=int(os.environ.get("BALANCER_PORT", 5000)),
                        help="HAProxy's port in front of the instances (default $BALANCER_PORT or 5000; 0: none)")
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    args = parser.parse_args(argv)
    if args.instances < 1 or args.action_servers < 1:
        parser.error("at least one Rasa instance and one action server")
    rasa_ports = [args.port + i for i in range(args.instances)]
    action_ports = [args.actions_port + i for i in range(args.action_servers)]
    balancer_ports = [args.balancer_port, args.balancer_port + 1] if args.balancer_port else []
    busy = [p for p in rasa_ports + action_ports + balancer_ports if port_open(p)]
    if busy:
        print(f"Ports already in use: {busy}. Choose others, e.g. RASA_PORT=6005 ACTIONS_PORT=6055.",
              file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also when started in the background (SIGINT ignored)
    OUT.mkdir(parents=True, exist_ok=True)
    processes: List[Tuple[str, subprocess.Popen, Path]] = []
    started_services: list = []
    status = 0
    try:
        values = services(dict(os.environ), started_services)
        base_env = launcher.environment(**values)
        base_env.setdefault("CONVERSATIONS_DB", conversations_db(base_env))
        if balancer_ports:  # the rate limits read the client's address from HAProxy's X-Forwarded-For
            base_env.setdefault("TRUSTED_PROXIES", "127.0.0.1")
        base_env.pop("RASA_API_TOKEN", None)  # the HTTP API stays off here (scripts/run.sh handles it)
        creds = launcher.write_credentials(OUT / "credentials.yml", base_env)
        print(f"Channels: {', '.join(yaml.safe_load(creds.read_text()) or {})} ({creds.relative_to(ROOT)}).")

        def launch(name: str, command: List[str], env: Dict[str, str]) -> None:
            log = OUT / f"{name}.log"
            # own session: Ctrl-C reaches us only, and we stop them in order
            processes.append((name, launcher.launch(command, env, log, own_session=True), log))

        for i, port in enumerate(action_ports):
            launch(f"actions-{i + 1}", launcher.actions_command(port), launcher.actions_environment(base_env))
        for i, port in enumerate(rasa_ports):
            env = dict(base_env, ACTION_SERVER_URL=f"http://127.0.0.1:{action_ports[i % len(action_ports)]}/webhook")
            launch(f"rasa-{i + 1}", launcher.rasa_command(port, ENDPOINTS, creds, env, Path(args.model)), env)
        print(f"Starting {args.action_servers} action server(s) and {args.instances} Rasa instance(s)… "
              f"(logs: {OUT.relative_to(ROOT)}/*.log)")
        for (name, process, log), port in zip(processes, action_ports + rasa_ports):
            launcher.wait_until(f"http://127.0.0.1:{port}/health", process, log, timeout=600,
                                ready=lambda status: status == 200)
            print(f"  {name}: http://localhost:{port}" + (" (REST: /webhooks/rest/webhook, health: /health)"
                                                          if name.startswith("rasa") else ""))
        if balancer_ports:
            config = launcher.haproxy_config(OUT / "haproxy.cfg", balancer_ports[0], rasa_ports, balancer_ports[1],
                                             host=base_env.get("BALANCER_HOST") or "127.0.0.1",
                                             rasa_host=(base_env.get("RASA_HOST") or "127.0.0.1").replace("0.0.0.0", "127.0.0.1"))
            launch("haproxy", launcher.haproxy_command(config), launcher.page_environment(base_env))
            name, process, log = processes[-1]
            launcher.wait_until(f"http://127.0.0.1:{balancer_ports[0]}/", process, log, timeout=30,
                                ready=lambda status: status == 200)
            print(f"  {name}: http://localhost:{balancer_ports[0]} in front of the instances "
                  f"(statistics: http://localhost:{balancer_ports[1]}/; {config.relative_to(ROOT)})")
        print("Ready. Ctrl-C stops everything.", flush=True)
        while True:
            for name, process, log in processes:
                if process.poll() is not None:
                    raise Stop(f"{name} exited with status {process.returncode}:\n{tail(log)}")
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping…")
    except (Stop, LaunchError, ServiceError, subprocess.CalledProcessError) as error:
        print(f"scale_out: {error}", file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        launcher.stop([process for _name, process, _log in reversed(processes)])  # balancer, instances, actions
        for service in reversed(started_services):
            service.destroy()
    return status


if __name__ == "__main__":
    sys.exit(main())
