#!/usr/bin/env python3
"""Known-answer vectors for TrInX certificates (Hybster §5.1).

An implementation of the MAC layouts documented in Sources/TrInX (TrInXInstance.swift
and MultiCounterCertificate.swift) that shares no code with the Swift one: only
Python's `hmac` and `hashlib`. It replays a fixed sequence of certification requests
against a fresh instance (all counters at [0|0]), applying the same acceptance rules,
and records each certificate and its MAC. The Swift tests replay the same requests
with TrInXInstance and require identical MACs.

Layouts (integers big-endian, HMAC-SHA256 with the 32-byte group key):
  single:  kind:u8 (1 independent, 2 continuing) | issuer:u32 | counter:u32
           | new.high:u64 | new.low:u64 [| prev.high:u64 | prev.low:u64] | message
  multi:   kind:u8 (3 independent, 4 continuing) | issuer:u32 | count:u32
           | count x (counter:u32 | new.high:u64 | new.low:u64
                      [| prev.high:u64 | prev.low:u64]) | message

Run: python3 generate.py > trinx-vectors.json
"""

import hashlib
import hmac
import json
import struct

KEY = hashlib.sha256(b"hybster-swift trinx known-answer key").digest()
ISSUER = 7
COUNTER_COUNT = 4

INDEPENDENT, CONTINUING, MULTI_INDEPENDENT, MULTI_CONTINUING = 1, 2, 3, 4


def value(high, low):
    return {"high": high, "low": low}


def key_of(v):
    return (v["high"], v["low"])


def mac(data):
    return hmac.new(KEY, data, hashlib.sha256).hexdigest()


def single_mac(kind, issuer, counter, new, prev, message):
    data = struct.pack(">BII", kind, issuer, counter)
    data += struct.pack(">QQ", new["high"], new["low"])
    if kind == CONTINUING:
        data += struct.pack(">QQ", prev["high"], prev["low"])
    return mac(data + message)


def multi_mac(kind, issuer, entries, message):
    data = struct.pack(">BII", kind, issuer, len(entries))
    for e in entries:
        data += struct.pack(">IQQ", e["counter"], e["newValue"]["high"], e["newValue"]["low"])
        if kind == MULTI_CONTINUING:
            data += struct.pack(">QQ", e["previousValue"]["high"], e["previousValue"]["low"])
    return mac(data + message)


class Instance:
    def __init__(self, issuer, count):
        self.issuer = issuer
        self.counters = [value(0, 0) for _ in range(count)]

    def independent(self, counter, new, message):
        cur = self.counters[counter]
        assert key_of(new) > key_of(cur)
        self.counters[counter] = new
        return {"kind": "independent", "counter": counter, "newValue": new,
                "mac": single_mac(INDEPENDENT, self.issuer, counter, new, None, message)}

    def continuing(self, counter, new, message, kind="continuing"):
        cur = self.counters[counter]
        assert key_of(new) >= key_of(cur)
        self.counters[counter] = new
        return {"kind": kind, "counter": counter, "newValue": new, "previousValue": cur,
                "mac": single_mac(CONTINUING, self.issuer, counter, new, cur, message)}

    def trusted_mac(self, counter, message):
        return self.continuing(counter, self.counters[counter], message, kind="trustedMAC")

    def multi(self, continuing, updates, message):
        counters = [u["counter"] for u in updates]
        assert counters and len(set(counters)) == len(counters)
        entries = []
        for u in updates:
            cur = self.counters[u["counter"]]
            if continuing:
                assert key_of(u["newValue"]) >= key_of(cur)
                entries.append({"counter": u["counter"], "newValue": u["newValue"],
                                "previousValue": cur})
            else:
                assert key_of(u["newValue"]) > key_of(cur)
                entries.append({"counter": u["counter"], "newValue": u["newValue"]})
        for u in updates:
            self.counters[u["counter"]] = u["newValue"]
        kind = MULTI_CONTINUING if continuing else MULTI_INDEPENDENT
        return {"kind": "multiContinuing" if continuing else "multiIndependent",
                "entries": entries, "mac": multi_mac(kind, self.issuer, entries, message)}


def main():
    inst = Instance(ISSUER, COUNTER_COUNT)
    big = 0x0102030405060708
    long_message = bytes((i * 7 + 3) % 256 for i in range(1000))
    steps = []

    def step(result, message, **request):
        request["message"] = message.hex()
        steps.append({"request": request, "certificate": result})

    m = b"prepare v0 o1 .................."  # 32 bytes
    assert len(m) == 32
    step(inst.independent(0, value(0, 1), m), m, op="independent", counter=0,
         newValue=value(0, 1))
    m = b"\x00\xff" * 16
    step(inst.independent(0, value(big, 2**64 - 1), m), m, op="independent", counter=0,
         newValue=value(big, 2**64 - 1))
    m = b"commit"
    step(inst.continuing(1, value(1, 5), m), m, op="continuing", counter=1,
         newValue=value(1, 5))
    m = b"checkpoint 9"
    step(inst.continuing(1, value(1, 9), m), m, op="continuing", counter=1,
         newValue=value(1, 9))
    m = b"reply to client 3"
    step(inst.trusted_mac(1, m), m, op="trustedMAC", counter=1)
    m = b""
    step(inst.trusted_mac(3, m), m, op="trustedMAC", counter=3)
    m = b"view change"
    ups = [{"counter": 2, "newValue": value(0, 7)}, {"counter": 3, "newValue": value(4, 0)}]
    step(inst.multi(False, ups, m), m, op="multiIndependent", updates=ups)
    m = b"new view"
    ups = [{"counter": 3, "newValue": value(5, 0)}, {"counter": 1, "newValue": value(1, 9)},
           {"counter": 0, "newValue": value(big, 2**64 - 1)}]
    step(inst.multi(True, ups, m), m, op="multiContinuing", updates=ups)
    m = long_message
    step(inst.independent(2, value(0, 8), m), m, op="independent", counter=2,
         newValue=value(0, 8))
    m = long_message
    ups = [{"counter": 2, "newValue": value(0, 9)}]
    step(inst.multi(True, ups, m), m, op="multiContinuing", updates=ups)

    # Certificates by another instance of the group: verification only.
    other = Instance(12, 2)
    foreign = []
    for result, message in [
        (other.independent(1, value(2, 3), b"foreign prepare"), b"foreign prepare"),
        (other.trusted_mac(0, b"foreign reply"), b"foreign reply"),
        (other.multi(False, [{"counter": 0, "newValue": value(0, 1)},
                             {"counter": 1, "newValue": value(2, 4)}], b"foreign"), b"foreign"),
    ]:
        foreign.append({"issuer": other.issuer, "message": message.hex(), "certificate": result})

    print(json.dumps({
        "comment": "Generated by generate.py from the documented TrInX MAC layouts; "
                   "do not edit by hand.",
        "key": KEY.hex(),
        "issuer": ISSUER,
        "counterCount": COUNTER_COUNT,
        "steps": steps,
        "finalCounters": inst.counters,
        "foreign": foreign,
    }, indent=2))


if __name__ == "__main__":
    main()
