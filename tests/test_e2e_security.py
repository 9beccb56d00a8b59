"""Security of the assistant as scripts/run.sh starts it: Rasa's HTTP API only behind a token (and
refused without one), CORS and the socket.io origin limited to the chat page, the Rasa and action
servers on 127.0.0.1 unless told otherwise; no secret in the repository; models trained by Rasa 3.6.21 only."""

import asyncio
import json
import os
import re
import secrets
import signal
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
import requests
import socketio
import yaml

from scripts import launcher
from tests.channel_mocks import CHANNEL_VARIABLES
from tests.hardening import SocketChat, texts_of
from tests.servers import MODEL, ROOT, action_endpoint_yaml, ensure_model, environment, free_port, tracker_store_yaml

RUN = str(ROOT / "scripts" / "run.sh")


def run_sh_env(**extra: str) -> dict:
    env = environment(**{name: "" for name in CHANNEL_VARIABLES})
    for name in ("RASA_API_TOKEN", "WEB_ORIGIN", "RASA_ENDPOINTS", "CONVERSATIONS_DB", "ACTIONS_HOST", "RASA_HOST"):
        env.pop(name, None)
    env.update(extra)
    return env


@pytest.mark.parametrize("token, args, message", [
    (None, ["--enable-api"], "refusing --enable-api without a token"),
    ("short", [], "RASA_API_TOKEN is too short"),
])
def test_run_sh_refuses_an_api_without_a_real_token(token, args, message):
    env = run_sh_env(**({"RASA_API_TOKEN": token} if token else {}))
    start = time.monotonic()
    result = subprocess.run([RUN, *args], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and message in result.stderr
    assert time.monotonic() - start < 10  # refused before anything started


def processes_of_group(pgid: int):
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    yield int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (ProcessLookupError, FileNotFoundError, PermissionError):
                continue


def listening_addresses(port: int):
    """The local addresses listening on a TCP port (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                if len(address) == 8:
                    found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add("::" if set(address) == {"0"} else address)
    return found


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """scripts/run.sh with RASA_API_TOKEN, on free ports, its own tracker store."""
    ensure_model()
    workdir = tmp_path_factory.mktemp("run-sh")
    ports = {"RASA_PORT": free_port(), "ACTIONS_PORT": free_port(), "WEB_PORT": free_port()}
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(action_endpoint_yaml(ports["ACTIONS_PORT"]) + tracker_store_yaml(workdir / "conversations.db"))
    token = secrets.token_hex(20)
    env = run_sh_env(**{k: str(v) for k, v in ports.items()}, RASA_API_TOKEN=token, RASA_ENDPOINTS=str(endpoints),
                     CONVERSATIONS_DB=str(workdir / "conversations.db"))
    log = (workdir / "run.log").open("wb")
    process = subprocess.Popen([RUN], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{ports['RASA_PORT']}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (workdir / "run.log").read_text()[-3000:]
            try:
                if requests.get(url + "/", timeout=2).ok and requests.get(
                        f"http://127.0.0.1:{ports['ACTIONS_PORT']}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (workdir / "run.log").read_text()[-3000:]
            time.sleep(0.5)
        yield {"url": url, "token": token, "pgid": process.pid, "workdir": workdir, "web_origin": f"http://localhost:{ports['WEB_PORT']}", **ports}
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # run.sh stops what it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_http_api_requires_the_token(started):
    url, token = started["url"], started["token"]
    conversation = f"{url}/conversations/someone/tracker"
    assert requests.put(f"{url}/model", json={"model_file": "/tmp/evil.tar.gz"}, timeout=10).status_code == 401
    assert requests.get(conversation, timeout=10).status_code == 401
    assert requests.post(f"{url}/conversations/someone/tracker/events", json={"event": "restart"}, timeout=10).status_code == 401
    assert requests.get(f"{url}/status", params={"token": "wrong" * 8}, timeout=10).status_code == 401
    assert requests.get(f"{url}/status", params={"token": token}, timeout=10).status_code == 200
    assert requests.get(conversation, params={"token": token}, timeout=10).status_code == 200


def test_the_token_is_not_on_any_command_line(started):
    commands = dict(processes_of_group(started["pgid"]))
    assert any("rasa" in c and " run " in f" {c} " for c in commands.values()), commands
    assert not any(started["token"] in command for command in commands.values())


def test_cors_only_for_the_chat_page(started):
    url, page = started["url"], started["web_origin"]
    allowed = requests.options(f"{url}/webhooks/rest/webhook", timeout=10, headers={
        "Origin": page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == page
    refused = requests.options(f"{url}/webhooks/rest/webhook", timeout=10, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    answer = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": "cors", "message": "hi"},
                           headers={"Origin": page}, timeout=30)
    assert answer.headers.get("Access-Control-Allow-Origin") == page and answer.json()


def test_socketio_only_for_the_chat_page(started):
    async def chat(origin):
        async with SocketChat(started["url"], headers={"Origin": origin}, wait_timeout=3) as client:
            return texts_of(await client.ask("what is Skywin?"))

    assert "Skywin is the Aerospace" in asyncio.run(chat(started["web_origin"]))
    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(chat("http://evil.example"))


def test_what_run_sh_writes_is_for_its_user_only(started):
    """umask 077: the conversations (SQLite), the generated credentials, var/ itself."""
    assert requests.post(f"{started['url']}/webhooks/rest/webhook", json={"sender": "umask", "message": "hi"},
                         timeout=60).ok
    for path in (started["workdir"] / "conversations.db", ROOT / "var" / "credentials.yml", ROOT / "var"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path}: {oct(path.stat().st_mode)}"


def test_the_rasa_and_action_servers_listen_on_localhost_only(started):
    assert listening_addresses(started["ACTIONS_PORT"]) == {"127.0.0.1"}
    assert listening_addresses(started["RASA_PORT"]) == {"127.0.0.1"}  # a reverse proxy on this host reaches it


def test_the_interfaces_are_set_for_a_deployment_behind_a_balancer():
    """RASA_HOST and ACTIONS_HOST, for servers that a load balancer or Rasa on another machine calls."""
    env = environment(RASA_HOST="10.0.0.11", ACTIONS_HOST="10.0.0.21")
    command = launcher.rasa_command(5005, Path("endpoints.yml"), Path("credentials.yml"), env)
    assert command[command.index("--interface") + 1] == "10.0.0.11"
    assert launcher.actions_environment(env)["SANIC_HOST"] == "10.0.0.21"
    default = launcher.rasa_command(5005, Path("endpoints.yml"), Path("credentials.yml"), run_sh_env())
    assert default[default.index("--interface") + 1] == "127.0.0.1"


def test_each_server_gets_only_the_secrets_it_needs(started):
    """scripts/launcher.py: Rasa gets the three; the action server its token, not the API token nor
    the socket.io key; the chat page none."""
    secrets_of = {}
    for pid, command in processes_of_group(started["pgid"]):
        environ = dict(item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                       if b"=" in item)
        names = {name.decode() for name in environ} & {"RASA_API_TOKEN", "ACTION_SERVER_TOKEN", "SESSION_SECRET"}
        server = ("actions" if " run actions " in command else "page" if "serve_web.py" in command
                  else "rasa" if "runtime" in command else None)
        if server:
            secrets_of[server] = names
    assert secrets_of == {"rasa": {"RASA_API_TOKEN", "ACTION_SERVER_TOKEN", "SESSION_SECRET"},
                          "actions": {"ACTION_SERVER_TOKEN"}, "page": set()}, secrets_of


def test_run_sh_uses_the_guarded_channels(started):
    response = requests.post(f"{started['url']}/webhooks/rest/webhook", json={"message": "hi"}, timeout=10)
    assert response.status_code == 400  # no sender: refused, no shared "default" conversation
    credentials = yaml.safe_load((ROOT / "var" / "credentials.yml").read_text())
    assert "channels.rest.GuardedRestInput" in credentials and "rest" not in credentials


# --- the repository ---------------------------------------------------------------------------

SECRET_PATTERNS = {
    "Telegram bot token": r"\b\d{8,10}:AA[\w-]{30,}",
    "Slack token": r"\bxox[abprs]-[\w-]{10,}",
    "Slack signing secret / hex key": r"(?i)(secret|token|password)\s*[:=]\s*['\"]?[0-9a-f]{32,}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "AWS key": r"\bAKIA[0-9A-Z]{16}\b",
    # a password in a URL, other than the placeholder of examples (user:password@host)
    "URL with a password": r"\b[a-z+]+://[^/\s:@'\"]+:(?!password@)[^/\s@'\"$<{]{3,}@",
}


def tracked_files():
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    for name in listed:
        path = ROOT / name
        if name.startswith(("tests/", "web/node_modules/", "docs/screenshots/")) or not path.is_file():
            continue  # the tests hold made-up tokens for the mocks
        if path.stat().st_size > 2_000_000:
            continue
        try:
            yield name, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def test_no_secret_in_the_repository():
    found = [(name, kind) for name, text in tracked_files() for kind, pattern in SECRET_PATTERNS.items()
             if re.search(pattern, text)]
    assert not found, found


def test_credentials_and_endpoints_take_secrets_from_the_environment():
    secret_key = re.compile(r"(?i)token|password|secret|signing|api_key|jwt")
    for name in ("credentials.yml", "endpoints.yml", "endpoints.scale-out.yml"):
        path = ROOT / name
        if not path.exists():
            continue

        def walk(node, where):
            if isinstance(node, dict):
                for key, value in node.items():
                    if secret_key.search(str(key)) and value not in (None, ""):
                        assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", str(value)), f"{name}: {where}{key} is not a ${{VAR}}"
                    walk(value, f"{where}{key}.")

        walk(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, "")


def test_the_model_was_trained_by_rasa_3_6_21():
    """CVE-2024-49375: releases before 3.6.21 run code from a crafted model; keep models of 3.6.21."""
    with tarfile.open(MODEL) as archive:
        member = next(m for m in archive.getmembers() if m.name.lstrip("/") == "metadata.json")
        metadata = json.load(archive.extractfile(member))
    assert metadata["rasa_open_source_version"] == "3.6.21"
