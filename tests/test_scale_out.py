"""Scale-out: two Rasa instances and one action server sharing a PostgreSQL tracker store and a Redis
lock store (endpoints.scale-out.yml), each started here on free loopback ports in temporary
directories (scripts/services.py) and stopped afterwards.

1. 50 conversations at once, 10 messages each, every message to one of the two instances at random,
   each after the previous answer: every tracker, read from PostgreSQL's events table, holds every
   user message once, in order, each followed by its own reply.
2. Conversations whose messages arrive in pairs at the same moment, one at each instance: both are
   processed one after the other (no interleaving), none lost, none duplicated, every reply
   delivered. This is what Rasa's own RedisLockStore gets wrong between instances
   (RasaHQ/rasa#11256, reverted in #11428); stores.redis_lock_store.AtomicRedisLockStore fixes it.
3. "Forget me" confirmed on one instance: the conversation is gone from PostgreSQL, and the other
   instance, which served it last and kept its tracker, starts it afresh too.

The channels are those `make run-scale-out` uses (scripts/launcher.write_credentials: the
project's REST and socket.io channels, plus GET /health). Each part prints its counts: messages, conversations, lost, duplicated, 5xx (and finer ones).
SCALE_OUT_LOCK_STORE=redis runs the same tests with Rasa's own RedisLockStore, to see its race;
SCALE_OUT_SEED changes the random message mix.
"""

import json
import os
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, List, Optional, Sequence

import pytest
import requests

from scripts.launcher import write_credentials
from scripts.scale_out import conversations_db
from scripts.services import PostgresServer, RedisServer
from tests.servers import SCALE_OUT_ENDPOINTS, Servers, ensure_model, environment, free_port

CONVERSATIONS, MESSAGES_EACH = 50, 10
PAIR_CONVERSATIONS, PAIRS_EACH = 20, 5
LOCK_STORE = os.environ.get("SCALE_OUT_LOCK_STORE", "atomic")  # "redis": Rasa's own RedisLockStore
SEED = int(os.environ.get("SCALE_OUT_SEED", "20261128"))
REQUEST_TIMEOUT = 90

# Turns of real conversations; a follow-up stays right after the question it follows.
ENGLISH = [
    ["What is Skywin?", "what are its axes?"],
    ["list the clusters", "the second one"],
    ["compare BioWin and WagrALIM"],
    ["what is the Marshall Plan?"],
    ["hello"],
    ["which clusters are in the health sector?", "tell me more about the second one"],
    ["who are the members of MecaTech?"],
    ["what are the key sectors?"],
    ["since when does Wallonia have clusters?"],
    ["is TWIST a competitiveness cluster?"],
    ["What is BioWin?", "and its website?"],
    ["thanks a lot"],
]
FRENCH = [
    ["c'est quoi BioWin ?", "quels sont ses thèmes ?"],
    ["quels clusters dans le secteur santé ?", "le deuxième"],
    ["compare Skywin et MecaTech"],
    ["c'est quoi le plan Marshall ?"],
    ["bonjour"],
    ["liste des pôles de compétitivité"],
    ["quels sont les secteurs clés ?"],
    ["depuis quand la Wallonie a-t-elle des clusters ?"],
    ["qui sont les membres de val plus"],
    ["parle-moi de skywinn", "quels sont ses axes ?"],
]


def script(rng: random.Random, length: int) -> List[str]:
    turns = FRENCH if rng.random() < 0.3 else ENGLISH
    messages: List[str] = []
    while len(messages) < length:
        messages += rng.choice(turns)
    return messages[:length]


@dataclass
class Sent:
    seq: int
    text: str
    instance: int
    status: int = 0
    replies: List[dict] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


def stored_seqs(texts: List[str], sent: List[Sent]) -> List[Optional[int]]:
    """Which message each stored user event is: the first one of that text not yet matched (the
    channels store no client metadata, so the text and the order tell them apart); a text
    matched already (a duplicate) keeps the seq of its first match, an unknown one gets None."""
    unmatched = list(sent)
    seqs: List[Optional[int]] = []
    for text in texts:
        match = next((s for s in unmatched if s.text == text), None)
        if match is not None:
            unmatched.remove(match)
        else:
            match = next((s for s in sent if s.text == text), None)
        seqs.append(match.seq if match is not None else None)
    return seqs


def send(url: str, session: requests.Session, sender: str, sent: Sent) -> None:
    started = time.monotonic()
    try:
        response = session.post(f"{url}/webhooks/rest/webhook", timeout=REQUEST_TIMEOUT,
                                json={"sender": sender, "message": sent.text})
        sent.status = response.status_code
        if response.ok:
            sent.replies = response.json()
        else:
            sent.error = response.text[:200]
    except requests.RequestException as error:
        sent.error = f"{error.__class__.__name__}: {error}"
    sent.seconds = time.monotonic() - started


# --- the cluster ---------------------------------------------------------------------------

def endpoints_file(workdir: Path) -> Path:
    if LOCK_STORE == "atomic":
        return SCALE_OUT_ENDPOINTS
    text = SCALE_OUT_ENDPOINTS.read_text().replace("type: stores.redis_lock_store.AtomicRedisLockStore", "type: redis")
    assert "type: redis" in text
    path = workdir / "endpoints.yml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ensure_model()
    workdir = tmp_path_factory.mktemp("scale-out")
    pg, red = PostgresServer(), RedisServer()
    servers: List[Servers] = []
    try:
        started = time.monotonic()
        pg.start()
        red.start()
        actions_port = free_port()
        env = {**pg.env(), **red.env(), "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook"}
        env["CONVERSATIONS_DB"] = conversations_db(env)
        # The channels give up on the action server after ACTION_SERVER_TIMEOUT (5 s); 50 conversations
        # at once on a shared 2-core machine can exceed that, and action timeouts are not the subject here.
        env["ACTION_SERVER_TIMEOUT"] = "30"
        # what `make run-scale-out` uses: the project's channels plus GET /health
        credentials = write_credentials(workdir / "credentials.yml", environment(**env))
        endpoints = endpoints_file(workdir)
        for name in ("actions", "rasa-1", "rasa-2"):
            (workdir / name).mkdir()
            servers.append(Servers(workdir / name, actions_port=actions_port, extra_env=env))
        actions, *instances = servers
        with ThreadPoolExecutor(3) as pool:  # start all three at once: about 2/3 of the time
            futures = [pool.submit(actions.start_actions)]
            futures += [pool.submit(s.start_rasa, endpoints, (), credentials) for s in instances]
            for future in futures:
                future.result()
        print(f"\n[scale-out] PostgreSQL, Redis, 1 action server, 2 Rasa instances ({LOCK_STORE} lock store) "
              f"up in {time.monotonic() - started:.1f} s")
        yield SimpleNamespace(pg=pg, red=red, urls=[s.url for s in instances], workdir=workdir)
    finally:
        for server in servers:
            server.stop()
        pg.destroy()
        red.destroy()


def read_events(pg: PostgresServer, senders: Sequence[str]) -> Dict[str, List[dict]]:
    events: Dict[str, List[dict]] = {sender: [] for sender in senders}
    with pg.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT sender_id, data FROM events WHERE sender_id = ANY(%s) ORDER BY id", (list(senders),))
        for sender, data in cursor.fetchall():
            events[sender].append(json.loads(data))
    connection.close()
    return events


def audit(conversations: Dict[str, List[Sent]], events: Dict[str, List[dict]], group: int) -> Counter:
    """Counts what went wrong. `group`: messages sent at once (1: one after the other; 2: pairs)."""
    counts: Counter = Counter(messages=sum(map(len, conversations.values())), conversations=len(conversations))
    for sender, sent in conversations.items():
        by_seq = {s.seq: s for s in sent}
        for s in sent:
            if s.status >= 500:
                counts["5xx"] += 1
            elif s.error:
                counts["errors"] += 1
            elif not s.replies:
                counts["undelivered"] += 1  # answered 200 with no message
        stream = events[sender]
        users = [i for i, e in enumerate(stream) if e["event"] == "user"]
        seqs = stored_seqs([stream[i].get("text") for i in users], sent)
        seen = Counter(seqs)
        counts["lost"] += sum(1 for s in sent if seen[s.seq] == 0)
        counts["duplicated"] += sum(n - 1 for seq, n in seen.items() if seq in by_seq and n > 1)
        counts["unexpected"] += sum(n for seq, n in seen.items() if seq not in by_seq)
        batches = [seq // group for seq in seqs if seq is not None]
        counts["misordered"] += sum(1 for a, b in zip(batches, batches[1:]) if b < a)
        for position, index in enumerate(users):
            end = users[position + 1] if position + 1 < len(users) else len(stream)
            bots = [e.get("text") for e in stream[index:end] if e["event"] == "bot"]
            s = by_seq.get(seqs[position])
            if not bots:
                counts["unanswered"] += 1  # no reply recorded before the next user message
            elif s is not None and s.status == 200 and bots != [r.get("text") for r in s.replies]:
                # Two messages of one text sent at once: the stored order (the lock's) does not say
                # which request each is, and their replies may differ (the page note in full once).
                twins = [t for t in sent if t.text == s.text and t.seq // group == s.seq // group]
                if not any(bots == [r.get("text") for r in t.replies] for t in twins):
                    counts["mismatched"] += 1  # the tracker's replies are not the ones this request got
    return counts


def report(title: str, counts: Counter, sent: List[Sent], seconds: float) -> None:
    latencies = sorted(s.seconds for s in sent)
    per_instance = Counter(s.instance for s in sent)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"[scale-out] {title}: messages={counts['messages']} conversations={counts['conversations']} "
          f"lost={counts['lost']} duplicated={counts['duplicated']} 5xx={counts['5xx']} | "
          f"errors={counts['errors']} undelivered={counts['undelivered']} unanswered={counts['unanswered']} "
          f"mismatched={counts['mismatched']} misordered={counts['misordered']} unexpected={counts['unexpected']}")
    print(f"[scale-out] {title}: {seconds:.1f} s, {counts['messages'] / seconds:.1f} messages/s, latency "
          f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms; per instance {dict(sorted(per_instance.items()))}; "
          f"lock store: {LOCK_STORE}")


def talk_and_audit(cluster, conversations: Dict[str, List[Sent]], talk: Callable[[str], None], workers: int,
                   group: int, label: str) -> Counter:
    """Runs `talk` for every conversation, `workers` at once; audits and reports what was stored."""
    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(talk, conversations))
    seconds = time.monotonic() - started
    counts = audit(conversations, read_events(cluster.pg, list(conversations)), group=group)
    report(label, counts, [s for c in conversations.values() for s in c], seconds)
    return counts


def assert_clean(counts: Counter) -> None:
    problems = {k: counts[k] for k in ("lost", "duplicated", "5xx", "errors", "undelivered", "unanswered",
                                       "mismatched", "misordered", "unexpected") if counts[k]}
    assert not problems, problems


# --- 1. many conversations, each message to either instance ---------------------------------

def test_concurrent_conversations_across_instances(cluster):
    rng = random.Random(SEED)
    conversations = {f"so-{i:02d}-{uuid.uuid4().hex[:8]}": [Sent(n, text, rng.randrange(2))
                                                            for n, text in enumerate(script(rng, MESSAGES_EACH))]
                     for i in range(CONVERSATIONS)}

    def talk(sender: str) -> None:
        with requests.Session() as session:
            for sent in conversations[sender]:
                send(cluster.urls[sent.instance], session, sender, sent)

    counts = talk_and_audit(cluster, conversations, talk, CONVERSATIONS, group=1, label="one after the other")
    assert counts["messages"] == CONVERSATIONS * MESSAGES_EACH
    assert_clean(counts)


# --- 2. two messages of one conversation at the same moment, one at each instance ------------

def test_simultaneous_pairs_on_both_instances(cluster):
    rng = random.Random(SEED + 1)
    conversations: Dict[str, List[Sent]] = {}
    for i in range(PAIR_CONVERSATIONS):
        texts = script(rng, 2 * PAIRS_EACH)
        # seq 2k and 2k+1 form pair k; which of the two goes to instance 0 alternates
        conversations[f"pair-{i:02d}-{uuid.uuid4().hex[:8]}"] = [
            Sent(n, text, (n + n // 2) % 2) for n, text in enumerate(texts)]

    def talk(sender: str) -> None:
        sessions = [requests.Session(), requests.Session()]
        sent = conversations[sender]
        try:
            for k in range(PAIRS_EACH):
                barrier = threading.Barrier(2)
                pair = sent[2 * k:2 * k + 2]

                def go(s: Sent) -> None:
                    barrier.wait(timeout=30)
                    send(cluster.urls[s.instance], sessions[s.instance], sender, s)

                threads = [threading.Thread(target=go, args=(s,)) for s in pair]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=2 * REQUEST_TIMEOUT)
        finally:
            for session in sessions:
                session.close()

    counts = talk_and_audit(cluster, conversations, talk, PAIR_CONVERSATIONS, group=2, label="pairs at the same moment")
    assert counts["messages"] == PAIR_CONVERSATIONS * PAIRS_EACH * 2
    assert_clean(counts)


# --- the lock store on its own: ticket protocol across two "instances" ------------------------

def _lock_stores(red: RedisServer, kind: str):
    from rasa.core.lock_store import RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    from stores.redis_lock_store import AtomicRedisLockStore

    if kind == "atomic":
        make = lambda: AtomicRedisLockStore(EndpointConfig(url="127.0.0.1", port=str(red.port),  # noqa: E731
                                                           password=red.password, key_prefix="unit"))
    else:
        make = lambda: RedisLockStore(host="127.0.0.1", port=red.port, password=red.password,  # noqa: E731
                                      key_prefix="unit")
    return [make(), make()]


def _mutual_exclusion_run(stores, conversation: str, threads: int = 6, rounds: int = 15,
                          budget: float = 20) -> Counter:
    """Threads, alternating between two store objects (separate connections, like two instances),
    each take a ticket, wait for their turn as Rasa does, hold the conversation briefly, release."""
    counts: Counter = Counter()
    inside = []
    guard = threading.Lock()
    issued: List[int] = []

    stop_at = time.monotonic() + budget  # bounded even when the protocol breaks down

    def worker(index: int) -> None:
        store = stores[index % 2]
        for _ in range(rounds):
            if time.monotonic() > stop_at:
                counts["not run"] += 1
                continue
            ticket = store.issue_ticket(conversation, 30)
            with guard:
                issued.append(ticket)
            deadline = time.monotonic() + 3
            try:
                while True:
                    lock = store.get_lock(conversation)
                    if lock is None or lock._ticket_for_ticket_number(ticket) is None:
                        counts["ticket lost"] += 1
                        break
                    if not lock.is_locked(ticket):
                        with guard:
                            inside.append(ticket)
                            if len(inside) > 1:
                                counts["overlaps"] += 1
                        time.sleep(0.002)
                        with guard:
                            inside.remove(ticket)
                        break
                    if time.monotonic() > deadline:
                        counts["stuck"] += 1
                        break
                    time.sleep(0.001)
                    store.update_lock(conversation)
            finally:
                store.cleanup(conversation, ticket)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    counts["turns"] = threads * rounds - counts["not run"]
    counts["left behind"] = int(stores[0].get_lock(conversation) is not None)
    return counts


def test_atomic_lock_store_serialises_a_conversation_across_instances(cluster):
    counts = _mutual_exclusion_run(_lock_stores(cluster.red, "atomic"), f"unit-{uuid.uuid4().hex[:8]}")
    stock = _mutual_exclusion_run(_lock_stores(cluster.red, "redis"), f"unit-{uuid.uuid4().hex[:8]}", budget=4)
    print(f"[scale-out] ticket protocol, 6 threads x 15 turns over two store objects: "
          f"AtomicRedisLockStore {dict(counts)}; Rasa's RedisLockStore {dict(stock)}")
    assert counts["overlaps"] == counts["ticket lost"] == counts["stuck"] == counts["left behind"] == 0
    assert counts["turns"] == 6 * 15


def test_atomic_lock_store_issues_each_ticket_once(cluster):
    stores = _lock_stores(cluster.red, "atomic")
    conversation = f"unit-{uuid.uuid4().hex[:8]}"
    numbers: List[int] = []
    guard = threading.Lock()

    def issue(index: int) -> None:
        for _ in range(25):
            number = stores[index % 2].issue_ticket(conversation, 30)
            with guard:
                numbers.append(number)

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(numbers) == list(range(200))
    lock = stores[0].get_lock(conversation)
    assert [t.number for t in lock.tickets] == list(range(200))
    for number in numbers:
        stores[number % 2].cleanup(conversation, number)
    assert stores[0].get_lock(conversation) is None


# --- 3. "forget me" on one instance: the other no longer has the conversation -----------------

@pytest.mark.parametrize("yes_on", [0, 1], ids=["yes-on-the-same-instance", "yes-on-the-other-instance"])
def test_forget_me_on_one_instance_is_forgotten_by_the_other(cluster, yes_on):
    """Each instance keeps the trackers it served in memory (stores/bounded_tracker_store.py): the
    one that did not delete must read the deletion from PostgreSQL, not answer from what it kept."""
    sender = f"so-forget-{uuid.uuid4().hex[:8]}"

    def say(instance: int, text: str) -> str:
        answer = requests.post(f"{cluster.urls[instance]}/webhooks/rest/webhook", timeout=REQUEST_TIMEOUT,
                               json={"sender": sender, "message": text})
        answer.raise_for_status()
        return "\n".join(m.get("text", "") for m in answer.json())

    assert "Skywin is the Aerospace" in say(0, "tell me about Skywin")
    assert "What does your organisation do?" in say(1, "which cluster fits me?")
    say(1, "my company Acme Drones builds drones in Namur")  # instance 2 now holds all of it
    assert "Acme Drones" in json.dumps(read_events(cluster.pg, [sender]))

    assert say(0, "forget me").startswith("Delete this conversation")
    assert say(yes_on, "yes").startswith("Done: I have deleted this conversation")
    assert read_events(cluster.pg, [sender]) == {sender: []}

    # instance 2, which served the conversation last, starts afresh too: no cluster in focus, no
    # guided dialogue pending, nothing of the old conversation stored again
    assert "Which cluster do you mean?" in say(1, "what are its axes?")
    assert "Which cluster do you mean?" in say(0, "and its website?")
    events = read_events(cluster.pg, [sender])[sender]
    assert [e["text"] for e in events if e["event"] == "user"] == ["what are its axes?", "and its website?"]
    assert "Acme Drones" not in json.dumps(events)


def test_a_frozen_redis_fails_the_lock_in_bounded_time_where_rasa_stalls_the_loop(cluster):
    """Redis frozen (SIGSTOP): Rasa's lock store blocks the event loop for its socket timeout on
    every call; ours keeps the loop running, fails with LockError, then fails at once until Redis
    is tried again and answers."""
    from rasa.core.lock_store import LockError, RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    from stores.redis_lock_store import AtomicRedisLockStore
    from tests.hardening import ticks_during

    red = cluster.red
    ours = AtomicRedisLockStore(EndpointConfig(url="127.0.0.1", port=str(red.port), password=red.password,
                                               key_prefix="unit", socket_timeout=0.5))
    rasa = RedisLockStore(host="127.0.0.1", port=red.port, password=red.password, key_prefix="unit",
                          socket_timeout=0.5)
    conversation = f"unit-{uuid.uuid4().hex[:8]}"

    async def take(store):
        async with store.lock(conversation):
            return "served"

    red.freeze()
    try:
        rasa_ticks, rasa_result = ticks_during(lambda: take(rasa))
        ticks, result = ticks_during(lambda: take(ours))
        _, again = ticks_during(lambda: take(ours))
    finally:
        red.thaw()
    assert rasa_ticks == 0 and isinstance(rasa_result, LockError), rasa_result  # the loop stood still
    assert ticks > 0 and isinstance(result, LockError), result
    assert isinstance(again, LockError) and "has not answered" in str(again)
    ours._frozen.retry_at = 0  # tried again, Redis answers
    assert ticks_during(lambda: take(ours))[1] == "served"
    assert ticks_during(lambda: take(ours))[1] == "served" and ours.get_lock(conversation) is None
