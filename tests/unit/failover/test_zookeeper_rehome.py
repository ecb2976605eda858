"""Which ZooKeeper server a decider should hold its session through (failover.zookeeper.rehome):
the first of its rendered list; the session is moved back only when it is held elsewhere."""

from __future__ import annotations

from failover.zookeeper import ZooKeeperCoordination, _first_server, held_elsewhere


def test_the_preferred_server_is_the_first_of_the_list() -> None:
    assert _first_server("10.77.0.13:2181,10.77.0.11:2181,10.77.0.12:2181") == ("10.77.0.13", 2181)
    assert _first_server(" zk-c.example:2281 , zk-a.example:2281") == ("zk-c.example", 2281)
    assert _first_server("[fd00::13]:2181,[fd00::11]:2181") == ("fd00::13", 2181)


def test_a_session_through_another_server_is_held_elsewhere() -> None:
    witness = {"10.77.0.13"}
    assert held_elsewhere("10.77.0.12", witness)
    assert not held_elsewhere("10.77.0.13", witness)
    assert not held_elsewhere("::ffff:10.77.0.13", witness)  # the same server, as an IPv6-mapped address


def test_only_a_client_given_its_servers_in_order_is_ever_moved() -> None:
    shuffled = ZooKeeperCoordination("10.77.0.13:2181,10.77.0.11:2181", "a", session_timeout=6, op_timeout=2)
    assert shuffled.rehome(0.1) is False  # no preference: nothing to move back to
    ordered = ZooKeeperCoordination(
        "10.77.0.13:2181,10.77.0.11:2181", "a", session_timeout=6, op_timeout=2, in_order=True
    )
    assert ordered.rehome(0.1) is False  # not connected: nothing to move
