"""`ccdr bench`: the intake path's capacity against its physical ceilings, in one run on the running lab.

    .venv/bin/ccdr bench [--seconds 20] [--clients 8] [--users 32] [--site a] [--json out.json]

Phases, in this order, each `--seconds` long:

1. Database ceiling: pgbench commits one ~1 KB INSERT per transaction into `ccdr_bench.bench_inserts`
   (schema created before, dropped after) through the front door's primary port as the app user, under the
   lab's synchronous replication: every commit waits for the standby, as every ticket commit does.
2. Broker ceiling: one aiokafka producer with intake's settings (`core.kafka.acknowledged_producer`: acks=all,
   idempotent, intake's linger and request timeout) keeps many ~1.5 KB sends in flight. It writes to a bench
   topic with the intake topic's partitions, replication factor and min.insync.replicas, deleted afterwards;
   never to the intake topic itself, because the ticket consumer would keep every bench message as a poison
   message. It is the ceiling one Python producer sees (intake's own client), not the brokers' raw capacity.
3. Intake accepted rate: headless locust in a subprocess (it runs on gevent, so it is never imported here),
   portal persona only, through the front door (both sites). Portal alone isolates the HTTP + Kafka path: no
   SMTP, no signatures, no alert storms fanning one request into many events, and one accepted request is
   exactly one new ticket, so (3) and (4) count the same things.
4. End to end, during (3): tickets committed per second for that run's intakes (found by the run marker the
   locustfile writes into descriptions), latency from `tickets.received_at` (intake's clock) to
   `tickets.created_at` (`now()` of the applying transaction; its commit follows within one figure-1 commit),
   and the drain time from the last intake received to the last ticket, waiting at most `--drain-timeout`.
5. One site alone: (3) + (4) again against one site's intake directly (`--site`, default `a`).

Ratios: (3)/(2), (4)/(1), and one site's accepted rate over both sites'.

The default site is a fixed `a`, not "the site without the primary": intake never talks to PostgreSQL, the
sites are symmetric, and a fixed target keeps runs comparable after drills moved the primary around (the JSON
records where the primary was).
"""

from loadtests.bench.cli import main

__all__ = ["main"]
