"""Tracker store, lock store and store health for running the assistant as several Rasa instances,
all plugged in through Rasa's own extension points (module paths in endpoints / credentials files):

- `sql_tracker_store.CheckedSQLTrackerStore`: Rasa's SQL tracker store that refuses to start while
  its database is unreachable (Rasa's own logs "Could not create tables" and serves anyway, keeping
  conversations in memory), and that checks pooled connections before use (pool_pre_ping), so a
  database restart does not lose the next saves.
- `bounded_tracker_store.BoundedSQLTrackerStore`: the checked store with a cost per message that
  does not grow with the conversation: the tracker of each conversation kept in memory, checked
  against the database and bounded to its last turns (endpoints.yml and endpoints.scale-out.yml).
- `redis_lock_store.AtomicRedisLockStore`: Rasa's Redis lock store with every ticket operation done
  atomically (WATCH/MULTI), so two instances receiving messages of one conversation at the same
  moment process them one after the other; refuses to start while Redis is unreachable.
- `health.HealthInput`: an input channel adding `GET /health` ({"tracker_store": "up"|"down",
  "lock_store": "up"|"down"}, 200 or 503) and a start-up check of whatever stores are configured.
- `probes`: the reachability checks used by both.

See docs/deployment.md.
"""
