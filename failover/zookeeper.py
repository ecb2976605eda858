"""The ZooKeeper adapter of the coordination port (kazoo). The only module importing kazoo.

Layout under `/ccdr` (ROOT):
  roles/<role>/epoch             persistent, the last epoch handed out (a decimal string)
  roles/<role>/leader            ephemeral, JSON {holder, epoch, since} of the current term
  <kind>/<name>                  ephemeral records: sites/<site>, presence/<agent>@<site>
  standby/<component>/owner      persistent, JSON {site}
  standby/<component>/requests/  persistent sequential operator requests

Every call is bounded by `op_timeout` (kazoo's async API with a timeout) and fails fast when the
session is not CONNECTED, so a caller on a suspended session is told "unavailable" at once
instead of queueing behind the reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    KazooException,
    NodeExistsError,
    NoNodeError,
    RolledBackError,
)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState
from kazoo.retry import KazooRetry
from kazoo.security import make_digest_acl
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from core.settings import GuardSettings, ServiceSettings, ZooKeeperTls, zookeeper_credentials
from failover.coordination import (
    ActivationRequest,
    CoordinationUnavailable,
    Owner,
    SessionState,
    Term,
)

log = logging.getLogger(__name__)

ROOT = "/ccdr"
DEAD_AFTER_TIMEOUTS = 2  # consecutive unanswered calls before the connection is presumed dead

_STATES = {KazooState.CONNECTED: SessionState.CONNECTED, KazooState.SUSPENDED: SessionState.SUSPENDED}
_LOST_RACE = (NodeExistsError, BadVersionError, RolledBackError, NoNodeError)


def _dump(data: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(data), sort_keys=True, separators=(",", ":")).encode()


def _load(raw: bytes | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tls_options(tls: ZooKeeperTls | None) -> dict[str, Any]:
    """KazooClient options of a TLS session with the ensemble (the server's name checked)."""
    if tls is None:
        return {}
    return {
        "use_ssl": True,
        "verify_certs": True,
        "check_hostname": True,
        "ca": tls.ca_file,
        "certfile": tls.cert_file,
        "keyfile": tls.key_file,
    }


def _first_server(hosts: str) -> tuple[str, int]:
    host, _, port = hosts.split(",")[0].strip().rpartition(":")
    return host.strip("[]"), int(port)


def _addresses(host: str, port: int) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except OSError:
        return {host}


def _shut(sock: socket.socket) -> None:
    """Shut kazoo's server socket down: kazoo drops the connection and reconnects to the next
    server of its list, keeping the session if it is still alive."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def held_elsewhere(peer: str, preferred: set[str]) -> bool:
    """Whether a session connected to `peer` is held through a server other than the preferred
    one (whose addresses are `preferred`); an IPv4 peer may show as an IPv6-mapped address."""
    return peer.removeprefix("::ffff:") not in {a.removeprefix("::ffff:") for a in preferred}


class ZooKeeperCoordination:
    """`auth` ("user", "password"): the session authenticates (digest) and every node it creates
    can be read and changed by that user only; without it, nodes are open to anyone who reaches
    the ensemble."""

    def __init__(
        self,
        hosts: str,
        site: str,
        *,
        session_timeout: float,
        op_timeout: float,
        auth: tuple[str, str] | None = None,
        tls: ZooKeeperTls | None = None,
        in_order: bool = False,
    ) -> None:
        self.site = site
        self.op_timeout = op_timeout
        # The server this process should hold its session through, when `hosts` is in preference order.
        self._preferred = _first_server(hosts) if in_order else None
        self._state = SessionState.LOST
        self._listeners: list[Callable[[SessionState], None]] = []
        self._timeouts = 0  # consecutive calls the server did not answer
        self._acl = [make_digest_acl(auth[0], auth[1], all=True)] if auth else None
        self._zk = KazooClient(
            hosts=hosts,
            timeout=session_timeout,
            connection_retry=KazooRetry(max_tries=-1, delay=0.2, max_delay=2.0),
            logger=logging.getLogger("kazoo"),
            auth_data=[("digest", f"{auth[0]}:{auth[1]}")] if auth else None,
            default_acl=self._acl,
            randomize_hosts=not in_order,  # in_order: `hosts` lists the servers by preference
            **tls_options(tls),
        )
        self._zk.add_listener(self._on_kazoo_state)

    # -- session ----------------------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def session_id(self) -> int | None:
        client_id = self._zk.client_id
        return int(client_id[0]) if client_id and self._state is SessionState.CONNECTED else None

    def on_state(self, listener: Callable[[SessionState], None]) -> None:
        self._listeners.append(listener)

    def _on_kazoo_state(self, state: str) -> None:
        self._state = _STATES.get(state, SessionState.LOST)
        for listener in self._listeners:
            listener(self._state)

    def start(self, timeout: float) -> None:
        try:
            self._zk.start(timeout=timeout)
        except (KazooTimeoutError, KazooException) as exc:
            raise CoordinationUnavailable(f"ZooKeeper not reachable: {exc}") from exc
        self._state = SessionState.CONNECTED
        if self._acl is not None:
            self._close_open_nodes()

    def _close_open_nodes(self) -> None:
        """Nodes made before the ensemble had credentials (an older lab) are open to anyone: give
        each the same ACL as new ones. Nodes already closed are left alone."""
        pending = [ROOT]
        while pending:
            path = pending.pop()
            try:
                acl, _ = self._zk.get_acls(path)
                if any(entry.id.scheme == "world" for entry in acl):
                    self._zk.set_acls(path, self._acl)
                pending.extend(f"{path}/{child}" for child in self._zk.get_children(path))
            except NoNodeError:
                continue

    def stop(self) -> None:
        try:
            self._zk.stop()
            self._zk.close()
        except KazooException:  # stopping a client that never connected
            pass

    def _wait(self, async_result: Any) -> Any:
        try:
            value = async_result.get(timeout=self.op_timeout)
        except KazooTimeoutError as exc:
            self._timeouts += 1
            if self._timeouts >= DEAD_AFTER_TIMEOUTS:
                self._drop_connection()
            raise CoordinationUnavailable(f"ZooKeeper did not answer within {self.op_timeout:g} s") from exc
        except KazooException as exc:
            if isinstance(exc, _LOST_RACE):
                raise
            raise CoordinationUnavailable(f"ZooKeeper: {type(exc).__name__} {exc}".strip()) from exc
        self._timeouts = 0
        return value

    def _drop_connection(self) -> None:
        """Make kazoo notice a dead server connection now.

        kazoo counts every request it sends as a ping ("requests act as implicit pings"), so a
        client that keeps asking — our loops do, every half second — never times out a server
        that stopped answering (a cut-off or quorum-less node keeps the TCP connection open).
        Shutting the socket down makes kazoo drop it and reconnect to another server, keeping
        the session if it is still alive. kazoo offers no public call for this.
        """
        self._timeouts = 0
        sock = self._server_socket()
        if sock is not None:
            log.warning("ZooKeeper server stopped answering: dropping the connection to reconnect elsewhere")
            _shut(sock)

    def _server_socket(self) -> socket.socket | None:
        """kazoo's socket to the server the session is held through (kazoo has no public handle)."""
        return cast("socket.socket | None", getattr(getattr(self._zk, "_connection", None), "_socket", None))

    def rehome(self, probe_timeout_s: float) -> bool:
        """Move the session back to the preferred server (the first of `hosts`) when it is held
        through another one and the preferred one accepts a connection; True when it was moved.

        After a cut, kazoo reconnects to whichever server answers first and stays there: a decider
        of a partition (the failover agent) healed from `isolate-a` held its session through the
        other data site's server, so the next cut between the data sites left it without ZooKeeper
        for the 2 s op timeout and a reconnect, and it stepped aside 3.3 s after the cut instead of
        ~1.3 s. Dropping the connection makes kazoo reconnect, keeping the session (a moment of
        SUSPENDED, ~50 ms here; nothing ephemeral is lost). kazoo goes on to the next server of its
        list, and starts the list again after the last, so a session two places down is back after
        two ticks (seen: a -> b -> c, 5 s apart)."""
        if self._preferred is None or self._state is not SessionState.CONNECTED:
            return False
        sock = self._server_socket()
        if sock is None:
            return False
        try:
            peer = str(sock.getpeername()[0])
        except OSError:
            return False
        if not held_elsewhere(peer, _addresses(*self._preferred)):
            return False
        try:
            socket.create_connection(self._preferred, timeout=probe_timeout_s).close()
        except OSError:
            return False  # the preferred server is out of reach: stay where the session is
        log.info("ZooKeeper session held through %s: moving it back to %s:%s", peer, *self._preferred)
        _shut(sock)
        return True

    def _require_session(self) -> None:
        if self._state is not SessionState.CONNECTED:
            raise CoordinationUnavailable(f"ZooKeeper session {self._state}")

    def _get(self, path: str) -> tuple[bytes, Any] | None:
        """(data, stat) of ROOT + path, or None when there is no such node."""
        self._require_session()
        try:
            return cast("tuple[bytes, Any]", self._wait(self._zk.get_async(ROOT + path)))
        except NoNodeError:
            return None

    # -- leadership ---------------------------------------------------------------------------
    def leader(self, role: str) -> Term | None:
        found = self._get(f"/roles/{role}/leader")
        if found is None:
            return None
        raw, stat = found
        data = _load(raw)
        return Term(
            role=role,
            holder=str(data.get("holder", "?")),
            epoch=int(data.get("epoch", 0)),
            since=float(data.get("since", 0.0)),
            session=int(stat.ephemeralOwner),
        )

    def try_acquire(self, role: str, holder: str) -> Term | None:
        self._require_session()
        base = f"/roles/{role}"
        self._ensure(f"{base}/epoch", b"0")
        found = self._get(f"{base}/epoch")
        if found is None:
            return None
        raw, stat = found
        epoch = int(raw or b"0") + 1
        since = time.time()
        txn = self._zk.transaction()
        txn.check(ROOT + f"{base}/epoch", stat.version)
        txn.set_data(ROOT + f"{base}/epoch", str(epoch).encode(), stat.version)
        txn.create(ROOT + f"{base}/leader", _dump({"holder": holder, "epoch": epoch, "since": since}), ephemeral=True)
        results = self._wait(txn.commit_async())
        if any(isinstance(r, Exception) for r in results):
            return None  # another candidate won this round
        session = self.session_id
        return Term(role=role, holder=holder, epoch=epoch, since=since, session=session or 0)

    def release(self, term: Term) -> None:
        current = self.leader(term.role)
        if current is not None and current.epoch == term.epoch and current.session == self.session_id:
            with contextlib.suppress(*_LOST_RACE):
                self._wait(self._zk.delete_async(ROOT + f"/roles/{term.role}/leader"))

    # -- ephemeral records -----------------------------------------------------------------
    def announce(self, kind: str, name: str, data: Mapping[str, Any]) -> None:
        path = f"/{kind}/{name}"
        found = self._get(path)
        if found is not None and int(found[1].ephemeralOwner) == self.session_id:
            try:
                self._wait(self._zk.set_async(ROOT + path, _dump(data)))
                return
            except NoNodeError:  # it went with a session that ended meanwhile (a heal): create it anew
                found = None
        if found is not None:  # left by another session of the same name: ours replaces it
            with contextlib.suppress(NoNodeError):
                self._wait(self._zk.delete_async(ROOT + path))
        self._ensure(f"/{kind}", b"")
        try:
            self._wait(self._zk.create_async(ROOT + path, _dump(data), ephemeral=True))
        except NodeExistsError:
            try:
                self._wait(self._zk.set_async(ROOT + path, _dump(data)))
            except NoNodeError as exc:  # created and deleted under us: the ensemble is in flux, say so
                raise CoordinationUnavailable(f"ZooKeeper: {path} changed under us; try again") from exc

    def withdraw(self, kind: str, name: str) -> None:
        self._require_session()
        with contextlib.suppress(NoNodeError):
            self._wait(self._zk.delete_async(ROOT + f"/{kind}/{name}"))

    def members(self, kind: str) -> dict[str, dict[str, Any]]:
        self._require_session()
        try:
            names = self._wait(self._zk.get_children_async(ROOT + f"/{kind}"))
        except NoNodeError:
            return {}
        records: dict[str, dict[str, Any]] = {}
        for name in sorted(names):
            found = self._get(f"/{kind}/{name}")
            if found is not None:  # it may vanish between the listing and the read
                records[name] = _load(found[0])
        return records

    # -- cold standby ----------------------------------------------------------------------
    def owner(self, component: str) -> Owner | None:
        found = self._get(f"/standby/{component}/owner")
        if found is None:
            return None
        return Owner(component=component, site=str(_load(found[0]).get("site", "")), version=found[1].version)

    def claim_owner(self, component: str, site: str, expected: Owner | None) -> bool:
        self._require_session()
        path = f"/standby/{component}/owner"
        try:
            if expected is None:
                self._ensure(f"/standby/{component}", b"")
                self._wait(self._zk.create_async(ROOT + path, _dump({"site": site})))
            else:
                self._wait(self._zk.set_async(ROOT + path, _dump({"site": site}), expected.version))
        except _LOST_RACE:
            return False
        return True

    def request_activation(self, component: str, site: str, reason: str, operator: str) -> str:
        self._require_session()
        self._ensure(f"/standby/{component}/requests", b"")
        data = {"site": site, "reason": reason, "operator": operator, "at": time.time()}
        created = self._wait(
            self._zk.create_async(ROOT + f"/standby/{component}/requests/req-", _dump(data), sequence=True)
        )
        return str(created).rsplit("/", 1)[-1]

    def activation_requests(self, component: str) -> list[ActivationRequest]:
        found = self.members(f"standby/{component}/requests")
        return [
            ActivationRequest(
                id=name,
                component=component,
                site=str(d.get("site", "")),
                reason=str(d.get("reason", "")),
                operator=str(d.get("operator", "")),
                at=float(d.get("at", 0.0)),
            )
            for name, d in found.items()
        ]

    def drop_request(self, request: ActivationRequest) -> None:
        self.withdraw(f"standby/{request.component}/requests", request.id)

    def _ensure(self, path: str, value: bytes) -> None:
        """Create a persistent node and its missing parents (from ROOT down) unless it exists."""
        if self._get(path) is not None:
            return
        parts = path.strip("/").split("/")
        for depth in range(len(parts) + 1):
            node = ROOT + "".join(f"/{p}" for p in parts[:depth])
            with contextlib.suppress(NodeExistsError):
                self._wait(self._zk.create_async(node, value if depth == len(parts) else b""))


def site_coordination(settings: ServiceSettings | GuardSettings) -> ZooKeeperCoordination:
    """The coordination client of one site's process, from its settings (not started)."""
    fo = settings.failover
    return ZooKeeperCoordination(
        settings.zookeeper_hosts,
        settings.site,
        session_timeout=fo.session_timeout_s,
        op_timeout=fo.op_timeout_s,
        auth=zookeeper_credentials(settings),
        tls=settings.zookeeper_tls,
        in_order=True,  # rendered by preference (infra.topology.Topology.zookeeper_preference)
    )


async def start_when_reachable(coord: ZooKeeperCoordination, session_timeout_s: float) -> None:
    """Start the session, retrying until the ensemble answers (a site starts before its quorum)."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(CoordinationUnavailable), wait=wait_exponential(max=5), reraise=True
    ):
        with attempt:
            await asyncio.to_thread(coord.start, session_timeout_s)
