"""A conversation survives a restart of both servers with the default (SQLite) tracker store: half
way through the guided dialogue, the next answer after the restart is its next question, in the
conversation's language, and "what are its axes?" still means the cluster talked about."""

import uuid

from tests.hardening import GuardedServers
from tests.servers import ensure_model, texts


def payload_of(replies, title):
    return next(b["payload"] for r in replies for b in r.get("buttons", []) if b["title"] == title)


def test_the_guided_dialogue_continues_after_both_servers_restart(tmp_path, knowledge):
    ensure_model()
    db = tmp_path / "conversations.db"
    servers = GuardedServers(tmp_path / "run", sqlite_path=db)
    servers.workdir.mkdir()
    french, english = f"persist-fr-{uuid.uuid4().hex[:8]}", f"persist-en-{uuid.uuid4().hex[:8]}"
    try:
        servers.start()
        assert "Skywin est le pôle" in texts(servers.say(french, "c'est quoi Skywin ?"))
        assert "Que fait votre organisation" in texts(servers.say(french, "quel cluster me convient ?"))
        replies = servers.say(french, "nous fabriquons des drones et des pièces composites pour avions")
        assert "Quel type d'organisation êtes-vous ?" in texts(replies)
        startup = payload_of(replies, "Start-up")

        assert "BioWin is the health" in texts(servers.say(english, "tell me about BioWin"))
        servers.say(english, "which cluster fits me?")
        assert "What kind of organisation are you?" in texts(servers.say(english, "we develop vaccines and biotech medicines"))

        servers.stop()
        assert db.stat().st_size > 0
        servers.rasa_port = servers.actions_port = 0  # new processes on new ports, the same database
        servers.start()

        # French: "its axes" is still Skywin, and the pending question comes back, in French
        answer = texts(servers.say(french, "et ses axes ?"))
        assert answer.startswith("Les 3 axes de Skywin :") and "« Plus intelligent »" in answer
        assert answer.rstrip().endswith("Quel type d'organisation êtes-vous ?")
        # a button press (no text to tell a language from): the language slot kept, the form goes on
        replies = servers.say(french, startup)
        assert "Que recherchez-vous dans un cluster ?" in texts(replies)
        answer = texts(servers.say(french, payload_of(replies, "Réseau d'affaires")))
        assert answer.startswith("Voici où votre organisation trouverait le mieux sa place")
        assert "1. **Skywin**" in answer and "composites" in answer  # the activity given before the restart

        # English: a side question about "its" axes is answered, then the pending question comes back
        answer = texts(servers.say(english, "what are its themes?"))
        assert all(theme.en in answer for theme in knowledge.cluster("biowin").strategy.items)
        assert answer.rstrip().endswith("What kind of organisation are you?")
    finally:
        servers.stop()
