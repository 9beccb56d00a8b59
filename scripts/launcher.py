"""Starts the assistant's servers. `make run` (scripts/run.sh), `make run-scale-out`
(scripts/scale_out.py), `make bench` (bench/run.py) and the tests (tests/servers.py) all start them
through this module, so all of them run what users get:

- the action server: `rasa run actions` on 127.0.0.1 (or ACTIONS_HOST), never given RASA_API_TOKEN
  nor SESSION_SECRET; it refuses calls without ACTION_SERVER_TOKEN (rasa_sdk_plugins/), which the
  Rasa server sends (the `Authorization` header of every endpoints file's action_endpoint);
- the Rasa server: `python -m runtime run` (Rasa with runtime/) on 127.0.0.1 (or RASA_HOST: the
  interface a load balancer or reverse proxy on another machine reaches), the guarded REST and socket.io
  channels (scripts/credentials.py --guarded: ordering per sender, an answer to every message, the
  ACTION_SERVER_TIMEOUT the channels read, 5 s by default), CORS and the socket.io origin from
  WEB_ORIGIN, and the stores of the endpoints file it is given (SQLite: `sqlite_endpoints`;
  PostgreSQL + Redis: endpoints.scale-out.yml). With RASA_API_TOKEN, Rasa's HTTP API is on behind
  it; the token is passed inside Python, so it never shows in `ps`. SESSION_SECRET signs the
  socket.io session ids (channels/socketio.py);
- the load balancer in front of several Rasa instances: HAProxy (Debian's `haproxy`) on
  haproxy.cfg.template filled with the instances' ports (`haproxy_config`, docs/deployment.md).

ACTION_SERVER_TOKEN and SESSION_SECRET come from the environment, else are drawn once per process
(`environment`), so that every server this process starts shares them; the chat page gets neither.

    .venv/bin/python -m scripts.launcher [rasa run arguments]   # what scripts/run.sh runs

starts the action server, the Rasa server and the chat page (scripts/serve_web.py) in the
foreground, on ACTIONS_PORT (5055), RASA_PORT (5005) and WEB_PORT (8080), with RASA_ENDPOINTS
(endpoints.yml) and var/credentials.yml; Ctrl-C stops them all.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import requests
import yaml

from scripts import credentials as credentials_script

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
RASA = str(VENV_BIN / "rasa")
MODEL = ROOT / "models" / "current.tar.gz"
HAPROXY_TEMPLATE = ROOT / "haproxy.cfg.template"
TRACKER_STORE = "stores.bounded_tracker_store.BoundedSQLTrackerStore"  # as in endpoints.yml
# Drawn once per process when the environment has none: what the servers this process starts share.
ACTION_SERVER_TOKEN = os.environ.get("ACTION_SERVER_TOKEN") or secrets.token_hex(32)
SESSION_SECRET = os.environ.get("SESSION_SECRET") or secrets.token_hex(32)
# `python -m runtime`, with --enable-api and the token added from the environment, not argv.
RUNTIME_WITH_API = ("import os, sys\nfrom runtime.__main__ import main\n"
                    "sys.exit(main(['--enable-api', '--auth-token', os.environ['RASA_API_TOKEN']]))")


class LaunchError(RuntimeError):
    pass


def environment(base: Optional[Mapping[str, str]] = None, **extra: str) -> Dict[str, str]:
    """`base` (default: this process's environment) with the settings every server runs with,
    ACTION_SERVER_TOKEN and SESSION_SECRET included (`actions_environment` and `page_environment`
    take away what those servers must not see)."""
    env = dict(os.environ if base is None else base)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    for name, value in (("ACTION_SERVER_TOKEN", ACTION_SERVER_TOKEN), ("SESSION_SECRET", SESSION_SECRET)):
        env[name] = env.get(name) or value  # an empty value is none (rasa_sdk_plugins/ would refuse all)
    env.update(SQLALCHEMY_SILENCE_UBER_WARNING="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def write_credentials(out: Path, env: Mapping[str, str]) -> Path:
    """credentials.yml with the guarded REST and socket.io channels, plus Telegram / Slack when
    their variables are set in `env` (scripts/credentials.py --guarded)."""
    base = credentials_script.guard_channels((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    try:
        text, _names = credentials_script.build(base, env)
    except credentials_script.ConfigurationError as error:
        raise LaunchError(f"scripts/credentials.py: {error}") from error
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def action_endpoint_yaml(actions_port: int) -> str:
    """An endpoints file's action_endpoint, with the header the action server requires (Rasa
    substitutes ${ACTION_SERVER_TOKEN} from its environment: the value stays unquoted)."""
    return (f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n"
            "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n")


def tracker_store_yaml(database: Path) -> str:
    """An endpoints file's tracker store: the store of endpoints.yml on the SQLite file `database`."""
    return f"tracker_store:\n  type: {TRACKER_STORE}\n  dialect: sqlite\n  db: {database}\n"


def sqlite_endpoints(out: Path, actions_port: int, database: Path) -> Path:
    """An endpoints file like endpoints.yml: the action server on `actions_port`, SQLite `database`."""
    out.write_text(action_endpoint_yaml(actions_port) + tracker_store_yaml(database))
    return out


def actions_command(port: int) -> List[str]:
    return [RASA, "run", "actions", "--actions", "actions", "--port", str(port)]


def without(env: Mapping[str, str], *names: str) -> Dict[str, str]:
    return {name: value for name, value in env.items() if name not in names}


def actions_environment(env: Mapping[str, str]) -> Dict[str, str]:
    """The action server's: ACTION_SERVER_TOKEN (which it checks) but neither Rasa's API token nor
    the socket.io key. rasa_sdk binds to $SANIC_HOST (`rasa run actions` has no --interface)."""
    env = without(env, "RASA_API_TOKEN", "SESSION_SECRET")
    env["SANIC_HOST"] = env.get("ACTIONS_HOST") or "127.0.0.1"
    return env


def page_environment(env: Mapping[str, str]) -> Dict[str, str]:
    """The chat page's (scripts/serve_web.py): no token, no key; it only serves files."""
    return without(env, "RASA_API_TOKEN", "ACTION_SERVER_TOKEN", "SESSION_SECRET")


def rasa_command(port: int, endpoints: Path, credentials: Path, env: Mapping[str, str],
                 model: Path = MODEL, extra_args: Sequence[str] = ()) -> List[str]:
    runtime = ["-c", RUNTIME_WITH_API] if env.get("RASA_API_TOKEN") else ["-m", "runtime"]
    origins = (env.get("WEB_ORIGIN") or "").split()  # a list of origins; "*" stays "*"
    interface = env.get("RASA_HOST") or "127.0.0.1"  # Rasa's own default, 0.0.0.0, is every interface
    return [PYTHON, *runtime, "run", "--model", str(model), "--interface", interface, "--port", str(port),
            "--endpoints", str(endpoints), "--credentials", str(credentials), *extra_args,
            *(["--cors", *origins] if origins else [])]


def haproxy_config(out: Path, port: int, rasa_ports: Sequence[int], stats_port: int,
                   host: str = "127.0.0.1", rasa_host: str = "127.0.0.1") -> Path:
    """haproxy.cfg.template with its fields filled: users reach `host:port`, the Rasa instances
    listen on `rasa_host:<rasa_ports>`, the statistics page is on 127.0.0.1:`stats_port`."""
    servers = "\n".join(f"    server rasa-{i + 1} {rasa_host}:{p}" for i, p in enumerate(rasa_ports))
    text = HAPROXY_TEMPLATE.read_text(encoding="utf-8")
    for field, value in (("@BIND@", f"{host}:{port}"), ("@STATS@", f"127.0.0.1:{stats_port}"), ("@SERVERS@", servers)):
        assert field in text, field
        text = text.replace(field, value)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def haproxy_command(config: Path) -> List[str]:
    """HAProxy in the foreground (-db: not as a daemon), stopped by SIGTERM like the other servers."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        raise LaunchError("HAProxy was not found (Debian: apt-get install -y haproxy).")
    return [haproxy, "-db", "-f", str(config)]


def launch(command: Sequence[str], env: Mapping[str, str], log: Optional[Path] = None,
           own_session: bool = False, cwd: Path = ROOT) -> subprocess.Popen:
    """Starts `command` in the project directory (or `cwd`), its output appended to `log` (else inherited)."""
    output = log.open("ab") if log else None
    try:
        return subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdout=output,
                                stderr=subprocess.STDOUT if output else None, start_new_session=own_session)
    finally:
        if output:
            output.close()  # the child has its own copy


def tail(log: Optional[Path], characters: int = 3000) -> str:
    return log.read_text(errors="replace")[-characters:] if log and log.exists() else ""


def wait_until(url: str, process: subprocess.Popen, log: Optional[Path] = None, timeout: float = 180,
               ready: Callable[[int], bool] = lambda status: status < 500) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LaunchError(f"{url}: server exited with {process.returncode}:\n{tail(log)}")
        try:
            if ready(requests.get(url, timeout=2).status_code):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise LaunchError(f"{url} did not answer within {timeout:.0f} s:\n{tail(log)}")


def stop(processes: Sequence[subprocess.Popen], timeout: float = 20) -> None:
    """Terminates the processes in the given order, then waits for each (killed after `timeout`)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def main(rasa_args: Sequence[str]) -> int:
    """`make run`: the action server, the Rasa server and the chat page, until one stops or Ctrl-C."""
    env = environment()
    actions_port, rasa_port, web_port = (int(env.get(name) or default) for name, default in
                                         (("ACTIONS_PORT", 5055), ("RASA_PORT", 5005), ("WEB_PORT", 8080)))
    env.setdefault("WEB_ORIGIN", f"http://localhost:{web_port} http://127.0.0.1:{web_port}")
    endpoints = Path(env.get("RASA_ENDPOINTS") or "endpoints.yml")
    (ROOT / "var").mkdir(exist_ok=True)
    credentials = write_credentials(ROOT / "var" / "credentials.yml", env)
    print(f"Channels: {', '.join(yaml.safe_load(credentials.read_text()))} "
          f"(written to {credentials}).", file=sys.stderr)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    processes: List[subprocess.Popen] = []
    try:
        processes.append(launch(actions_command(actions_port), actions_environment(env)))
        processes.append(launch(rasa_command(rasa_port, endpoints, credentials, env, Path("models/current.tar.gz"),
                                             rasa_args), env))
        processes.append(launch([PYTHON, str(ROOT / "scripts" / "serve_web.py"), "--port", str(web_port),
                                 "--rasa-url", env.get("RASA_URL") or f"http://localhost:{rasa_port}"],
                                page_environment(env)))
        print(f"Starting… the assistant is ready when http://localhost:{rasa_port}/ answers "
              f"(REST: /webhooks/rest/webhook).\nThe chat page: http://localhost:{web_port}/", flush=True)
        if env.get("RASA_API_TOKEN"):
            print("Rasa's HTTP API is on, behind RASA_API_TOKEN.", flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        return next(process.returncode for process in processes if process.poll() is not None) or 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(processes[::-1])  # the page, then Rasa, then the action server


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except LaunchError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
