"""Kafka leadership back on each partition's preferred replica once a site has returned.

Kafka moves a leader back to its partition's preferred replica only at its periodic imbalance
check (`leader.imbalance.check.interval.seconds`, five minutes by default). Until then a returned
site leads nothing and the witness leads the intake partitions it shares with that site, so a
drill or test started right after a restore would run on another layout than the designed one.
"""

from __future__ import annotations

from confluent_kafka import ElectionType, KafkaError, KafkaException

from infra.lab import probes
from infra.lab.health import Check
from infra.lab.kafka_security import ADMIN_TIMEOUT_S, admin_client
from infra.topology import Topology

# Answers that leave nothing to do: already led by its preferred replica, or that replica is not
# in sync yet (the check asks again on its next poll).
_NOTHING_TO_DO = {KafkaError.ELECTION_NOT_NEEDED, KafkaError.PREFERRED_LEADER_NOT_AVAILABLE}


def elect_preferred(topo: Topology, ops_password: str) -> None:
    """Ask the controller for a preferred-leader election on every partition. Raises
    KafkaException for a refusal other than "nothing to do"."""
    admin = admin_client(topo, ops_password)
    # No `request_timeout`: confluent-kafka 2.16's binding raises SystemError for any keyword here.
    answers = admin.elect_leaders(ElectionType.PREFERRED, None).result(timeout=ADMIN_TIMEOUT_S)
    for answer in answers.values():
        # Each answer is None or a KafkaError (the binding's docstring says KafkaException).
        error = answer.args[0] if isinstance(answer, KafkaException) else answer
        if error is not None and error.code() not in _NOTHING_TO_DO:
            raise KafkaException(error)


def preferred_leaders(topo: Topology, ops_password: str) -> Check:
    """Every partition led by its preferred replica; while one is not, asks for the election."""

    def check() -> tuple[bool, str]:
        meta = probes.kafka_metadata(topo)
        if meta is None:
            return False, "no broker answers"
        elsewhere = meta.led_elsewhere
        if not elsewhere:
            return True, f"{len(meta.partitions)} partitions"
        try:
            elect_preferred(topo, ops_password)
        except KafkaException as exc:
            return False, f"{len(elsewhere)} led elsewhere; election refused: {exc.args[0].str()}"
        except TimeoutError:
            return False, f"{len(elsewhere)} led elsewhere; no answer to the election"
        return False, f"{len(elsewhere)} led elsewhere; election asked"

    return check
