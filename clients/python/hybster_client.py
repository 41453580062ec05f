#!/usr/bin/env python3
"""A Hybster key-value client in plain Python 3 (standard library only).

Written from docs/wire-format.md (wire version 2) alone; section numbers in the
comments ("§6.3") refer to that document. Library and command line:

    python3 hybster_client.py --config cluster.json [--key client.key] put KEY VALUE
    python3 hybster_client.py --config cluster.json get KEY
    python3 hybster_client.py --config cluster.json delete KEY
    python3 hybster_client.py --config cluster.json cas KEY EXPECTED NEW
    python3 hybster_client.py --config cluster.json cas --expect-absent KEY NEW
    python3 hybster_client.py keygen --out alice.key      (writes alice.key and alice.pub)

Exit status: 0 done; 1 a failed cas or a service error; 2 bad usage or files;
3 refused by the replicas (REFUSED, §4.14); 4 no answer (timeout, unreachable).

The cryptography (Ed25519, RFC 8032; X25519, RFC 7748) is implemented below in
pure Python: correct but slow (a few milliseconds per signature) and not
constant-time. Fine for a command-line client; use a vetted library where
timing side channels matter.
"""

import argparse
import hashlib
import hmac
import json
import os
import select
import socket
import struct
import sys
import time

__all__ = [
    "ClusterConfig", "ClientKey", "HybsterClient", "KeyValueClient", "HybsterError",
    "Refused", "NoAnswer", "ed25519_public_key", "ed25519_sign", "ed25519_verify",
    "x25519", "x25519_public_key", "hkdf_sha256",
]

# ---------------------------------------------------------------------------
# Ed25519 (RFC 8032, section 5.1) and X25519 (RFC 7748, section 5)
# ---------------------------------------------------------------------------

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _inv(x):
    return pow(x, _P - 2, _P)


def _recover_x(y, sign):
    """The x with x^2 = (y^2 - 1) / (d y^2 + 1) whose low bit is `sign` (RFC 8032 5.1.3)."""
    if y >= _P:
        return None
    x2 = (y * y - 1) * _inv(_D * y * y + 1) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if x & 1 != sign:
        x = _P - x
    return x


# Points in extended homogeneous coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, xy = T/Z.
_BY = 4 * _inv(5) % _P
_BX = _recover_x(_BY, 0)
_B = (_BX, _BY, 1, _BX * _BY % _P)
_IDENTITY = (0, 1, 1, 0)


def _add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _double(p):
    x1, y1, z1, _ = p
    a = x1 * x1 % _P
    b = y1 * y1 % _P
    c = 2 * z1 * z1 % _P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(s, p):
    q = _IDENTITY
    for bit in reversed(range(s.bit_length())):
        q = _double(q)
        if (s >> bit) & 1:
            q = _add(q, p)
    return q


def _equal(p, q):
    x1, y1, z1, _ = p
    x2, y2, z2, _ = q
    return (x1 * z2 - x2 * z1) % _P == 0 and (y1 * z2 - y2 * z1) % _P == 0


def _encode_point(p):
    x, y, z, _ = p
    zi = _inv(z)
    x, y = x * zi % _P, y * zi % _P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _decode_point(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def _expand_seed(seed):
    if len(seed) != 32:
        raise ValueError("an Ed25519 private key (seed) has 32 bytes")
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def _hash_scalar(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little") % _L


def ed25519_public_key(seed):
    """The 32-byte public key of a 32-byte Ed25519 private key (seed)."""
    a, _ = _expand_seed(seed)
    return _encode_point(_multiply(a, _B))


def ed25519_sign(seed, message):
    """The 64-byte Ed25519 signature (R || S) of `message` under private key `seed`."""
    a, prefix = _expand_seed(seed)
    public = _encode_point(_multiply(a, _B))
    r = _hash_scalar(prefix, message)
    big_r = _encode_point(_multiply(r, _B))
    k = _hash_scalar(big_r, public, message)
    s = (r + k * a) % _L
    return big_r + s.to_bytes(32, "little")


def ed25519_verify(public, message, signature):
    """Whether `signature` is a valid Ed25519 signature of `message` under `public`."""
    if len(signature) != 64:
        return False
    a = _decode_point(public)
    r = _decode_point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    k = _hash_scalar(signature[:32], public, message)
    return _equal(_multiply(s, _B), _add(r, _multiply(k, a)))


def x25519(scalar, u_coordinate):
    """X25519(k, u) of RFC 7748 section 5: both 32 bytes, the result 32 bytes."""
    if len(scalar) != 32 or len(u_coordinate) != 32:
        raise ValueError("X25519 takes 32-byte inputs")
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    x1 = int.from_bytes(u_coordinate, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a = (x2 + z2) % _P
        aa = a * a % _P
        b = (x2 - z2) % _P
        bb = b * b % _P
        e = (aa - bb) % _P
        c = (x3 + z3) % _P
        d = (x3 - z3) % _P
        da = d * a % _P
        cb = c * b % _P
        x3 = (da + cb) * (da + cb) % _P
        z3 = x1 * (da - cb) * (da - cb) % _P
        x2 = aa * bb % _P
        z2 = e * (aa + 121665 * e) % _P
    if swap:
        x2, z2 = x3, z3
    return (x2 * _inv(z2) % _P).to_bytes(32, "little")


def x25519_public_key(private):
    """The X25519 public key (u = 9 multiplied by the private scalar)."""
    return x25519(private, (9).to_bytes(32, "little"))


def hkdf_sha256(ikm, salt, info, length):
    """HKDF-SHA256 (RFC 5869); an empty salt means 32 zero bytes."""
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


# ---------------------------------------------------------------------------
# Digests (§6.2) and keys (§6.3)
# ---------------------------------------------------------------------------

TAG_REQUEST = 1
TAG_REPLY = 6
TAG_CLIENT_KEY = 8
TAG_CONNECTION_PROOF = 12
TAG_CLIENT_IDENTITY = 13
TAG_SIGNED_REQUEST = 15
TAG_MERKLE_NODE = 16
TAG_SIGNED_ROOT = 17


def u8(v):
    return struct.pack(">B", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def blob(data):
    """A byte string: its length as u32, then the bytes."""
    return u32(len(data)) + bytes(data)


def digest(tag, *parts):
    """SHA-256 over the tag byte and the already-encoded parts."""
    return hashlib.sha256(bytes([tag]) + b"".join(parts)).digest()


def mac(key, message):
    return hmac.new(key, message, hashlib.sha256).digest()


def client_id_of(signing_public, agreement_public):
    """§6.3: the first 4 bytes, big-endian, of SHA-256(0d | blob(signing) | blob(agreement))."""
    d = digest(TAG_CLIENT_IDENTITY, blob(signing_public), blob(agreement_public))
    return struct.unpack(">I", d[:4])[0]


def shared_key(agreement_private, replica_public, client, replica):
    """k(c, r) = HKDF-SHA256(X25519(c, r), salt empty, info SHA-256(08|c|r), 32)."""
    secret = x25519(agreement_private, replica_public)
    if secret == bytes(32):
        raise ValueError("replica %d's clientKey gives an all-zero shared secret" % replica)
    info = digest(TAG_CLIENT_KEY, u32(client), u32(replica))
    return hkdf_sha256(secret, b"", info, 32)


def payload_digest(client, lane, sequence, operation):
    return digest(TAG_REQUEST, u32(client), u32(lane), u64(sequence), blob(operation))


def merkle_parent(left, right):
    return digest(TAG_MERKLE_NODE, left, right)


def merkle_tree(leaves):
    """The root over `leaves` (padded with zero digests to a power of two) and each
    leaf's path of sibling digests, leaf upwards (§6.3)."""
    width = 1
    while width < len(leaves):
        width *= 2
    level = list(leaves) + [bytes(32)] * (width - len(leaves))
    paths = [[] for _ in leaves]
    positions = list(range(len(leaves)))
    while len(level) > 1:
        for i, position in enumerate(positions):
            paths[i].append(level[position ^ 1])
        level = [merkle_parent(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        positions = [p >> 1 for p in positions]
    return level[0], paths


def merkle_root(leaf, index, path):
    node = leaf
    for level, sibling in enumerate(path):
        node = merkle_parent(node, sibling) if (index >> level) & 1 == 0 else merkle_parent(sibling, node)
    return node


def signed_message(root):
    return digest(TAG_SIGNED_ROOT, root)


def reply_digest(client, lane, sequence, replica, view, result):
    return digest(TAG_REPLY, u32(client), u32(lane), u64(sequence), u32(replica), u64(view),
                  blob(result))


def connection_proof_digest(client, replica, nonce):
    return digest(TAG_CONNECTION_PROOF, u32(client), u32(replica), blob(nonce))


# ---------------------------------------------------------------------------
# Files: cluster.json and key files (§8)
# ---------------------------------------------------------------------------

class HybsterError(Exception):
    """Base class of this client's errors."""


class FileError(HybsterError):
    """A configuration or key file is missing or malformed."""


def _hex32(text, what):
    try:
        data = bytes.fromhex(text)
    except (TypeError, ValueError):
        data = b""
    if len(data) != 32:
        raise FileError("%s must be 64 hex digits" % what)
    return data


def _load_json(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise FileError("cannot read %s: %s" % (path, e.strerror or e))
    except ValueError as e:
        raise FileError("%s is not JSON: %s" % (path, e))


class Replica:
    def __init__(self, index, host, port, client_key):
        self.index = index
        self.host = host
        self.port = port
        self.client_key = client_key


class ClusterConfig:
    """What a client needs from cluster.json (version 2)."""

    def __init__(self, replicas, auth_mode="signatures", max_operation_size=1 << 20,
                 max_lanes=1024, retransmit_ms=1000, service=None):
        self.replicas = replicas
        self.auth_mode = auth_mode
        self.max_operation_size = max_operation_size
        self.max_lanes = max_lanes
        self.retransmit_ms = retransmit_ms
        self.service = service

    @property
    def n(self):
        return len(self.replicas)

    @property
    def f(self):
        return (self.n - 1) // 2

    @classmethod
    def load(cls, path):
        doc = _load_json(path)
        try:
            if doc.get("version") != 2:
                raise FileError("%s has version %r; this client speaks cluster.json version 2"
                                % (path, doc.get("version")))
            params = doc["protocolParameters"]
            replicas = []
            for index, r in enumerate(doc["replicas"]):
                if r["id"] != index:
                    raise FileError("%s: replicas must be listed in id order 0..n-1" % path)
                replicas.append(Replica(index, r["host"], int(r["clientPort"]),
                                        _hex32(r["clientKey"], "replicas[%d].clientKey" % index)))
            if len(replicas) != params["replicaCount"]:
                raise FileError("%s lists %d replicas, replicaCount is %d"
                                % (path, len(replicas), params["replicaCount"]))
            mode = params.get("clientAuthentication", "signatures")
            if mode not in ("signatures", "macs"):
                raise FileError("%s: unknown clientAuthentication %r" % (path, mode))
            return cls(replicas, mode, int(params["maxOperationSize"]),
                       int(params.get("maxLanesPerClient", 1024)),
                       int(doc.get("timing", {}).get("clientRetransmitMilliseconds", 1000)),
                       doc.get("service"))
        except (KeyError, TypeError, AttributeError) as e:
            raise FileError("%s is not a cluster configuration: missing or wrong field %s"
                            % (path, e))


class ClientKey:
    """A client's private keys (NAME.key) and what derives from them."""

    def __init__(self, signing_seed, agreement_private):
        self.signing_seed = signing_seed
        self.agreement_private = agreement_private
        self.signing_public = ed25519_public_key(signing_seed)
        self.agreement_public = x25519_public_key(agreement_private)
        self.client_id = client_id_of(self.signing_public, self.agreement_public)

    @classmethod
    def generate(cls):
        return cls(os.urandom(32), os.urandom(32))

    @classmethod
    def load(cls, path):
        doc = _load_json(path)
        try:
            key = cls(_hex32(doc["signingKey"], "signingKey"),
                      _hex32(doc["agreementKey"], "agreementKey"))
            claimed = doc["id"]
        except (KeyError, TypeError) as e:
            raise FileError("%s is not a client key file: missing field %s" % (path, e))
        if claimed != key.client_id:
            raise FileError("%s: id %s does not match the keys (they derive %d)"
                            % (path, claimed, key.client_id))
        return key

    def save(self, path):
        """Writes NAME.key (private, mode 0600) and NAME.pub next to it; returns the .pub path."""
        private = {"agreementKey": self.agreement_private.hex(), "id": self.client_id,
                   "signingKey": self.signing_seed.hex()}
        public = {"agreementKey": self.agreement_public.hex(), "id": self.client_id,
                  "signingKey": self.signing_public.hex()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(private, f, indent=2, sort_keys=True)
        public_path = (path[:-4] if path.endswith(".key") else path) + ".pub"
        with open(public_path, "w", encoding="utf-8") as f:
            json.dump(public, f, indent=2, sort_keys=True)
        return public_path


# ---------------------------------------------------------------------------
# Frames (§2, §4)
# ---------------------------------------------------------------------------

WIRE_VERSION = 2
T_HELLO, T_REQUEST, T_REPLY, T_CHALLENGE, T_PROOF, T_REFUSED = 1, 2, 3, 4, 5, 6
ROLE_CLIENT = 2
MAX_FRAME_LENGTH = 16 * 1024 * 1024 + 64 * 1024

REFUSAL_REASONS = {
    1: "unknownClient", 2: "invalidProof", 3: "wrongClient", 4: "operationTooLarge",
    5: "laneOutOfRange", 6: "malformedFrame",
}


def frame(message_type, payload):
    return u32(2 + len(payload)) + bytes([WIRE_VERSION, message_type]) + payload


def hello_frame(client):
    return frame(T_HELLO, u8(WIRE_VERSION) + u8(ROLE_CLIENT) + u32(client))


def request_payload(client, lane, sequence, operation, authenticator=(), signature=None):
    """The REQUEST payload (§4.3); `signature` is (sig64, index, path) or None."""
    out = [u32(client), u32(lane), u64(sequence), blob(operation), struct.pack(">H", len(authenticator))]
    out.extend(authenticator)
    if signature is None:
        out.append(u8(0))
    else:
        sig, index, path = signature
        out.extend([u8(1), sig, u32(index), u8(len(path))])
        out.extend(path)
    return b"".join(out)


class ProtocolError(HybsterError):
    """A replica sent something this client cannot decode (the connection is dropped)."""


class Reply:
    def __init__(self, client, lane, sequence, replica, view, result, tag):
        self.client, self.lane, self.sequence = client, lane, sequence
        self.replica, self.view, self.result, self.tag = replica, view, result, tag


class Refusal:
    def __init__(self, lane, sequence, reason, detail, replica=None):
        self.lane, self.sequence, self.reason, self.detail = lane, sequence, reason, detail
        self.replica = replica

    @property
    def reason_name(self):
        return REFUSAL_REASONS.get(self.reason, "reason %d" % self.reason)


def decode_frame_body(body):
    """(type, decoded) for a frame body (version, type, payload)."""
    if len(body) < 2:
        raise ProtocolError("frame shorter than its header")
    version, message_type = body[0], body[1]
    if version != WIRE_VERSION:
        raise ProtocolError("wire version %d (expected %d)" % (version, WIRE_VERSION))
    p = body[2:]
    if message_type == T_CHALLENGE:
        if len(p) != 32:
            raise ProtocolError("CHALLENGE of %d bytes" % len(p))
        return message_type, bytes(p)
    if message_type == T_REPLY:
        if len(p) < 64:
            raise ProtocolError("truncated REPLY")
        client, lane, sequence, replica, view, length = struct.unpack(">IIQIQI", p[:32])
        if len(p) != 64 + length:
            raise ProtocolError("REPLY length mismatch")
        return message_type, Reply(client, lane, sequence, replica, view, bytes(p[32:32 + length]),
                                   bytes(p[32 + length:]))
    if message_type == T_REFUSED:
        if len(p) < 14:
            raise ProtocolError("truncated REFUSED")
        lane, sequence, reason, length = struct.unpack(">IQBB", p[:14])
        if len(p) != 14 + length:
            raise ProtocolError("REFUSED length mismatch")
        return message_type, Refusal(lane, sequence, reason,
                                     bytes(p[14:]).decode("utf-8", errors="replace"))
    raise ProtocolError("a replica sent a frame of type 0x%02x to a client" % message_type)


# ---------------------------------------------------------------------------
# The client protocol (§6.1, §7)
# ---------------------------------------------------------------------------

class Refused(HybsterError):
    """f+1 replicas refused the request or this client (REFUSED frames)."""

    def __init__(self, refusals, what):
        self.refusals = refusals
        first = refusals[0]
        super().__init__("%s refused by replicas %s: %s (%s)" % (
            what, ", ".join(str(r.replica) for r in refusals), first.detail, first.reason_name))


class NoAnswer(HybsterError):
    """No f+1 matching replies in time, or too few replicas reachable."""


class _Connection:
    """One TCP connection to one replica's client port."""

    def __init__(self, replica):
        self.replica = replica
        self.sock = None
        self.buffer = bytearray()
        self.state = "down"  # down, challenged (waiting for CHALLENGE), ready
        self.refusal = None  # the REFUSED (sequence 0) that closed it, if any

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.state = "down"
        self.buffer = bytearray()

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            # Whatever the replica sent before it closed (a REFUSED) may still be readable.
            self.state = "broken"
            return False

    def frames(self):
        """Reads what is available; yields complete frame bodies. None marks end of stream."""
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return
        except OSError:
            data = b""
        if not data:
            yield None
            return
        self.buffer += data
        while len(self.buffer) >= 4:
            length = struct.unpack(">I", self.buffer[:4])[0]
            if length > MAX_FRAME_LENGTH:
                raise ProtocolError("frame length %d from replica %d" % (length, self.replica.index))
            if len(self.buffer) < 4 + length:
                break
            body = bytes(self.buffer[4:4 + length])
            del self.buffer[:4 + length]
            yield body


class HybsterClient:
    """Sends operations to a Hybster group and returns results f+1 replicas agree on.

    One request at a time per lane; this class runs one lane (default 0).
    """

    def __init__(self, config, key, lane=0, mode=None, timeout=10.0, connect_timeout=2.0):
        self.config = config
        self.key = key
        self.client = key.client_id
        self.mode = mode or config.auth_mode
        if self.mode not in ("signatures", "macs"):
            raise ValueError("mode must be signatures or macs")
        if not 0 <= lane < config.max_lanes:
            raise ValueError("lane %d is not below maxLanesPerClient %d" % (lane, config.max_lanes))
        self.lane = lane
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.keys = [shared_key(key.agreement_private, r.client_key, self.client, r.index)
                     for r in config.replicas]
        self.connections = [_Connection(r) for r in config.replicas]
        self.last_sequence = 0
        self.connection_refusals = {}
        self._current = None  # the outstanding request's sequence number
        self._votes = {}  # replica -> authentic Reply for it
        self._refusals = {}  # replica -> Refusal of it

    # -- connections -------------------------------------------------------

    def _open(self, connection):
        """TCP connect and HELLO; the CHALLENGE is answered in `_handle`."""
        connection.close()
        replica = connection.replica
        try:
            sock = socket.create_connection((replica.host, replica.port), self.connect_timeout)
        except OSError:
            return False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.connect_timeout)
        connection.sock = sock
        connection.state = "challenged"
        connection.refusal = None
        if not connection.send(hello_frame(self.client)):
            connection.close()
            return False
        return True

    def connect(self):
        """Connects to every replica and proves this client's identity (§6.1), retrying
        until f+1 replicas accept the connection or the client's timeout passes.
        Raises Refused if f+1 replicas refuse the client, NoAnswer if f+1 cannot be reached."""
        give_up = time.monotonic() + self.timeout
        while True:
            for connection in self.connections:
                if connection.state == "down" and connection.refusal is None:
                    self._open(connection)
            # Handshakes run in parallel; a replica answers a HELLO within its 5 s limit.
            deadline = min(time.monotonic() + 5.0, give_up)
            while any(c.state == "challenged" for c in self.connections):
                if not self._poll(max(0.0, min(0.5, deadline - time.monotonic()))) \
                        and time.monotonic() >= deadline:
                    break
            for connection in self.connections:
                if connection.state == "challenged":
                    connection.close()
            self._poll(0)  # a REFUSED that answered a PROOF may already be here
            self._check_connection_refusals()
            if sum(c.state == "ready" for c in self.connections) > self.config.f:
                return
            if time.monotonic() >= give_up:
                raise NoAnswer("fewer than f+1 = %d replicas reachable within %.1f s"
                               % (self.config.f + 1, self.timeout))
            time.sleep(0.1)

    def close(self):
        for connection in self.connections:
            connection.close()

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_connection_refusals(self):
        if len(self.connection_refusals) > self.config.f:
            raise Refused(sorted(self.connection_refusals.values(), key=lambda r: r.replica),
                          "client %d" % self.client)

    # -- requests ----------------------------------------------------------

    def next_sequence(self):
        """Strictly increasing per lane, starting at the wall clock in microseconds (§7.2)."""
        self.last_sequence = max(self.last_sequence + 1, time.time_ns() // 1000)
        return self.last_sequence

    def build_request(self, sequence, operation):
        """The REQUEST frame for `operation` on this client's lane (§4.3, §6.3)."""
        d = payload_digest(self.client, self.lane, sequence, operation)
        if self.mode == "macs":
            payload = request_payload(self.client, self.lane, sequence, operation,
                                      authenticator=[mac(k, d) for k in self.keys])
        else:
            # One request signed alone: a one-leaf tree, root = the payload digest,
            # index 0, empty path.
            root, paths = merkle_tree([d])
            sig = ed25519_sign(self.key.signing_seed, signed_message(root))
            payload = request_payload(self.client, self.lane, sequence, operation,
                                      signature=(sig, 0, paths[0]))
        return frame(T_REQUEST, payload)

    def invoke(self, operation):
        """Executes `operation` (bytes) and returns the result f+1 replicas agree on."""
        operation = bytes(operation)
        if any(c.state == "down" and c.refusal is None for c in self.connections):
            self.connect()
        sequence = self.next_sequence()
        request = self.build_request(sequence, operation)
        self._votes = {}
        self._refusals = {}
        self._current = sequence
        start = time.monotonic()
        give_up = start + self.timeout
        interval = self.config.retransmit_ms / 1000.0
        attempts = 0
        while True:
            # Send to every replica (§7.3): followers forward to the leader.
            self._poll(0)
            for connection in self.connections:
                if connection.state == "down" and connection.refusal is None and attempts > 0:
                    if self._open(connection):
                        self._await_handshake(connection, give_up)
                if connection.state == "ready":
                    connection.send(request)
            retransmit = min(time.monotonic() + interval * (2 ** min(attempts, 3)), give_up)
            while time.monotonic() < retransmit:
                self._poll(min(0.1, max(0.0, retransmit - time.monotonic())))
                self._check_connection_refusals()
                result = self._decided()
                if result is not None:
                    return result
                if len(self._refusals) > self.config.f:
                    raise Refused(sorted(self._refusals.values(), key=lambda r: r.replica),
                                  "request (lane %d, sequence %d)" % (self.lane, sequence))
            if time.monotonic() >= give_up:
                seen = list(self.connection_refusals.values()) + list(self._refusals.values())
                note = "".join("; replica %d refused: %s" % (r.replica, r.detail) for r in seen)
                raise NoAnswer("no f+1 matching replies within %.1f s%s" % (self.timeout, note))
            attempts += 1

    def _await_handshake(self, connection, give_up):
        deadline = min(time.monotonic() + self.connect_timeout, give_up)
        while connection.state == "challenged" and time.monotonic() < deadline:
            self._poll(0.05)
        if connection.state == "challenged":
            connection.close()

    def _decided(self):
        by_result = {}
        for reply in self._votes.values():
            by_result.setdefault(reply.result, []).append(reply)
        for result, replies in by_result.items():
            if len(replies) >= self.config.f + 1:
                return result
        return None

    # -- receiving ---------------------------------------------------------

    def _poll(self, timeout):
        """Handles whatever the replicas sent within `timeout` seconds; True if anything came."""
        live = [c for c in self.connections if c.sock is not None]
        if not live:
            if timeout > 0:
                time.sleep(timeout)
            return False
        try:
            readable, _, _ = select.select(live, [], [], max(0.0, timeout))
        except (OSError, ValueError):
            return False
        for connection in readable:
            try:
                for body in list(connection.frames()):
                    if body is None or connection.sock is None:
                        connection.close()
                        break
                    self._handle(connection, *decode_frame_body(body))
            except ProtocolError:
                connection.close()
        return bool(readable)

    def _handle(self, connection, message_type, message):
        replica = connection.replica.index
        if message_type == T_CHALLENGE:
            if connection.state != "challenged":
                raise ProtocolError("unexpected CHALLENGE")
            proof = mac(self.keys[replica], connection_proof_digest(self.client, replica, message))
            if connection.send(frame(T_PROOF, proof)):
                connection.state = "ready"
        elif message_type == T_REFUSED:
            message.replica = replica
            if message.sequence == 0 and message.reason in (1, 2):
                # This client refused (unknownClient, invalidProof): the replica closed
                # the connection and will refuse every new one with these keys.
                connection.refusal = message
                self.connection_refusals[replica] = message
                connection.close()
            elif message.sequence == 0:
                # A frame refused (malformedFrame: for this client, an operation too
                # large for the client port); the replica closed the connection. It
                # fails the request in flight; the next one reconnects.
                connection.close()
                if self._current is not None:
                    self._refusals[replica] = message
            elif (message.lane == self.lane and message.sequence == self._current):
                self._refusals[replica] = message
        elif message_type == T_REPLY:
            reply = message
            if (reply.client != self.client or reply.lane != self.lane
                    or reply.sequence != self._current
                    or reply.replica >= len(self.keys) or reply.replica in self._votes):
                return
            expected = mac(self.keys[reply.replica], reply_digest(
                reply.client, reply.lane, reply.sequence, reply.replica, reply.view, reply.result))
            if hmac.compare_digest(expected, reply.tag):
                self._votes[reply.replica] = reply


# ---------------------------------------------------------------------------
# The key-value service (§9)
# ---------------------------------------------------------------------------

def _optional(value):
    return u8(0) if value is None else u8(1) + blob(value)


def kv_get(key):
    return u8(1) + u8(1) + blob(key)


def kv_put(key, value):
    return u8(1) + u8(2) + blob(key) + blob(value)


def kv_delete(key):
    return u8(1) + u8(3) + blob(key)


def kv_cas(key, expected, new):
    """Compare-and-swap; `expected` None means the key must be absent."""
    return u8(1) + u8(4) + blob(key) + _optional(expected) + blob(new)


class KVResult:
    """A decoded key-value result: kind is value, ok, notFound, casFailed or error."""

    def __init__(self, kind, value=None, message=None):
        self.kind, self.value, self.message = kind, value, message

    def __repr__(self):
        return "KVResult(%s, %r, %r)" % (self.kind, self.value, self.message)

    def __eq__(self, other):
        return isinstance(other, KVResult) and (self.kind, self.value, self.message) == (
            other.kind, other.value, other.message)


def kv_decode_result(data):
    def take(n):
        nonlocal offset
        if offset + n > len(data):
            raise ProtocolError("truncated key-value result")
        chunk = data[offset:offset + n]
        offset += n
        return chunk

    def take_blob():
        return bytes(take(struct.unpack(">I", take(4))[0]))

    def take_optional():
        flag = take(1)[0]
        if flag == 0:
            return None
        if flag == 1:
            return take_blob()
        raise ProtocolError("presence flag %d" % flag)

    offset = 0
    if take(1)[0] != 1:
        raise ProtocolError("key-value result of an unknown version")
    tag = take(1)[0]
    if tag == 1:
        result = KVResult("value", value=take_optional())
    elif tag == 2:
        result = KVResult("ok")
    elif tag == 3:
        result = KVResult("notFound")
    elif tag == 4:
        result = KVResult("casFailed", value=take_optional())
    elif tag == 5:
        result = KVResult("error", message=take_blob().decode("utf-8", errors="replace"))
    else:
        raise ProtocolError("unknown key-value result tag %d" % tag)
    if offset != len(data):
        raise ProtocolError("trailing bytes after a key-value result")
    return result


class KeyValueClient(HybsterClient):
    """HybsterClient with the key-value store's operations; keys and values are bytes."""

    def _kv(self, operation):
        return kv_decode_result(self.invoke(operation))

    def get(self, key):
        return self._kv(kv_get(key))

    def put(self, key, value):
        return self._kv(kv_put(key, value))

    def delete(self, key):
        return self._kv(kv_delete(key))

    def cas(self, key, expected, new):
        return self._kv(kv_cas(key, expected, new))


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def _text(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + data.hex()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Send one request to a Hybster cluster running the key-value store.",
        epilog="operations: put KEY VALUE | get KEY | delete KEY | cas KEY EXPECTED NEW | "
               "cas --expect-absent KEY NEW | keygen --out NAME.key")
    parser.add_argument("--config", help="the cluster configuration (cluster.json)")
    parser.add_argument("--key", help="the client key file (default: client.key next to the config)")
    parser.add_argument("--mode", choices=["signatures", "macs"],
                        help="request authentication (default: the cluster's clientAuthentication)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a result")
    parser.add_argument("--lane", type=int, default=0, help="the lane to send on (default 0)")
    parser.add_argument("--expect-absent", action="store_true",
                        help="for cas: succeed only if the key is absent (give KEY NEW)")
    parser.add_argument("--out", help="for keygen: the private key file to write")
    parser.add_argument("operation", choices=["put", "get", "delete", "cas", "keygen"])
    parser.add_argument("arguments", nargs="*")
    args = parser.parse_intermixed_args(argv)

    def usage(message):
        parser.print_usage(sys.stderr)
        print("error: " + message, file=sys.stderr)
        return 2

    if args.operation == "keygen":
        if not args.out or args.arguments:
            return usage("keygen takes --out NAME.key and nothing else")
        key = ClientKey.generate()
        public = key.save(args.out)
        print("wrote %s: client %d's private keys (keep them private)" % (args.out, key.client_id))
        print("wrote %s: its public keys; admit the client by copying it into every "
              "replica's clients directory" % public)
        return 0

    arity = {"put": 2, "get": 1, "delete": 1, "cas": 2 if args.expect_absent else 3}[args.operation]
    if args.expect_absent and args.operation != "cas":
        return usage("--expect-absent applies to cas only")
    if len(args.arguments) != arity:
        return usage("%s takes %d argument(s), got %d" % (args.operation, arity, len(args.arguments)))
    if not args.config:
        return usage("--config is required")
    a = [s.encode("utf-8") for s in args.arguments]
    operation = {
        "put": lambda: kv_put(a[0], a[1]),
        "get": lambda: kv_get(a[0]),
        "delete": lambda: kv_delete(a[0]),
        "cas": lambda: kv_cas(a[0], None, a[1]) if args.expect_absent else kv_cas(a[0], a[1], a[2]),
    }[args.operation]()

    try:
        config = ClusterConfig.load(args.config)
        if config.service is not None and "keyValue" not in config.service:
            print("error: the cluster in %s does not run the key-value store (service %s)"
                  % (args.config, json.dumps(config.service)), file=sys.stderr)
            return 2
        key_path = args.key or os.path.join(os.path.dirname(args.config) or ".", "client.key")
        key = ClientKey.load(key_path)
        client = KeyValueClient(config, key, lane=args.lane, mode=args.mode, timeout=args.timeout)
    except (FileError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2

    try:
        with client:
            result = kv_decode_result(client.invoke(operation))
    except Refused as e:
        print("refused: %s" % e, file=sys.stderr)
        return 3
    except NoAnswer as e:
        print("no answer: %s" % e, file=sys.stderr)
        return 4
    except ProtocolError as e:
        print("error: cannot decode the reply as a key-value result (%s)" % e, file=sys.stderr)
        return 1

    if result.kind == "ok":
        print("OK")
    elif result.kind == "value":
        print("(not found)" if result.value is None else _text(result.value))
    elif result.kind == "notFound":
        print("(not found)")
    elif result.kind == "casFailed":
        print("CAS FAILED: current value is %s"
              % ("(absent)" if result.value is None else _text(result.value)))
        return 1
    else:
        print("error: the service rejected the request: %s" % result.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
