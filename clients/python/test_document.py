#!/usr/bin/env python3
"""Checks the worked example of docs/wire-format.md (section 10) and its key-value
examples (section 9) against hybster_client, which was written from that document.
The Swift side checks the same blocks against the Swift code
(Tests/HybsterWireTests/WireFormatDocumentTests.swift).

    python3 test_document.py        (exit status 0 when the document and the client agree)
"""

import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hybster_client as h  # noqa: E402

DOCUMENT = os.path.join(HERE, "..", "..", "docs", "wire-format.md")


def block(name):
    """The lines between <!-- BEGIN name --> and <!-- END name -->, fences left out."""
    with open(DOCUMENT, encoding="utf-8") as f:
        lines = f.read().split("\n")
    begin = lines.index("<!-- BEGIN %s -->" % name)
    end = lines.index("<!-- END %s -->" % name)
    return [line for line in lines[begin + 1:end] if not line.startswith("```")]


def values(name):
    out = {}
    for line in block(name):
        if "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def frame_hex(name):
    return "".join(line.split("#", 1)[0] for line in block(name)).replace(" ", "").lower()


# The example's inputs (section 10).
REPLICA_PRIVATE = [bytes([b]) * 32 for b in (0x11, 0x22, 0x33)]
SIGNING_SEED = bytes([0x44]) * 32
AGREEMENT_PRIVATE = bytes([0x55]) * 32
NONCE = bytes(range(32))
OPERATION = h.kv_put(b"color", b"blue")
RESULT = bytes([1, 2])


class WorkedExample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = h.ClientKey(SIGNING_SEED, AGREEMENT_PRIVATE)
        cls.c = cls.key.client_id
        cls.replica_public = [h.x25519_public_key(k) for k in REPLICA_PRIVATE]
        cls.k = [h.shared_key(AGREEMENT_PRIVATE, cls.replica_public[r], cls.c, r) for r in range(3)]
        cls.payload = h.payload_digest(cls.c, 0, 1, OPERATION)
        root, paths = h.merkle_tree([cls.payload])
        assert root == cls.payload and paths == [[]]
        cls.signature = h.ed25519_sign(SIGNING_SEED, h.signed_message(root))

    def test_keys_and_id(self):
        actual = {"replica[%d].clientKey" % r: self.replica_public[r].hex() for r in range(3)}
        actual["client.signingPublic"] = self.key.signing_public.hex()
        actual["client.agreementPublic"] = self.key.agreement_public.hex()
        actual["client.id"] = str(self.c)
        self.assertEqual(values("example-keys"), actual)

    def test_key_derivation(self):
        actual = {}
        for r in range(3):
            secret = h.x25519(AGREEMENT_PRIVATE, self.replica_public[r])
            # Both sides of the key agreement compute the same secret.
            self.assertEqual(secret, h.x25519(REPLICA_PRIVATE[r], self.key.agreement_public))
            actual["shared(c,%d)" % r] = secret.hex()
            actual["info(c,%d)" % r] = h.digest(h.TAG_CLIENT_KEY, h.u32(self.c), h.u32(r)).hex()
            actual["k(c,%d)" % r] = self.k[r].hex()
        self.assertEqual(values("key-derivation"), actual)

    def test_values(self):
        request_digest = h.digest(h.TAG_SIGNED_REQUEST, self.payload, h.blob(self.signature),
                                  h.u32(0), h.u8(0))
        reply_digest = h.reply_digest(self.c, 0, 1, 1, 0, RESULT)
        actual = {
            "proof(c,1)": h.mac(self.k[1], h.connection_proof_digest(self.c, 1, NONCE)).hex(),
            "request.payloadDigest": self.payload.hex(),
            "request.signedMessage": h.signed_message(self.payload).hex(),
            "request.signature": self.signature.hex(),
            "request.digest": request_digest.hex(),
            "reply.digest": reply_digest.hex(),
            "reply.tag": h.mac(self.k[1], reply_digest).hex(),
        }
        for r in range(3):
            actual["tag[%d]" % r] = h.mac(self.k[r], self.payload).hex()
        self.assertEqual(values("example-values"), actual)
        self.assertTrue(h.ed25519_verify(self.key.signing_public, h.signed_message(self.payload),
                                         self.signature))
        batch = h.digest(2, h.u32(2), request_digest, request_digest)
        self.assertEqual(values("batch-digest"), {"batch.digest": batch.hex()})

    def test_frames(self):
        client = h.HybsterClient.__new__(h.HybsterClient)  # only build_request's inputs
        client.client, client.lane, client.key = self.c, 0, self.key
        client.keys = self.k
        client.mode = "signatures"
        self.assertEqual(frame_hex("request-frame"), client.build_request(1, OPERATION).hex())
        client.mode = "macs"
        self.assertEqual(frame_hex("request-frame-macs"), client.build_request(1, OPERATION).hex())
        self.assertEqual(frame_hex("hello-frame"), h.hello_frame(self.c).hex())
        reply = bytes.fromhex(frame_hex("reply-frame"))
        kind, decoded = h.decode_frame_body(reply[4:])
        self.assertEqual(kind, h.T_REPLY)
        self.assertEqual((decoded.client, decoded.lane, decoded.sequence, decoded.replica,
                          decoded.view, decoded.result), (self.c, 0, 1, 1, 0, RESULT))
        self.assertEqual(decoded.tag, h.mac(self.k[1], h.reply_digest(self.c, 0, 1, 1, 0, RESULT)))
        self.assertEqual(h.kv_decode_result(decoded.result), h.KVResult("ok"))
        refused = bytes.fromhex(frame_hex("refused-frame"))
        kind, decoded = h.decode_frame_body(refused[4:])
        self.assertEqual(kind, h.T_REFUSED)
        self.assertEqual((decoded.lane, decoded.sequence, decoded.reason_name, decoded.detail),
                         (0, 1, "operationTooLarge",
                          "operation of 19 bytes; this group's maxOperationSize is 16"))
        for name, data in (("reply-frame", reply), ("refused-frame", refused)):
            self.assertEqual(int.from_bytes(data[:4], "big"), len(data) - 4, name)


class KeyFileExamples(unittest.TestCase):
    """The key files of section 8.2 are the worked example's client."""

    def test_key_files(self):
        with open(DOCUMENT, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("### 8.2"):text.index("### 8.3")]
        private, public = (h.json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S))
        key = h.ClientKey(bytes.fromhex(private["signingKey"]), bytes.fromhex(private["agreementKey"]))
        self.assertEqual((SIGNING_SEED, AGREEMENT_PRIVATE), (key.signing_seed, key.agreement_private))
        self.assertEqual(private["id"], key.client_id)
        self.assertEqual(public, {"agreementKey": key.agreement_public.hex(), "id": key.client_id,
                                  "signingKey": key.signing_public.hex()})


class KeyValueExamples(unittest.TestCase):
    """The example table of section 9."""

    def test_table(self):
        with open(DOCUMENT, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("## 9. The key-value service"):text.index("## 10.")]
        rows = dict(re.findall(r"^\| (.+?) \| `([0-9a-f ]+)` \|$", section, re.M))
        ok = {
            'put `"color"` = `"blue"`': h.kv_put(b"color", b"blue"),
            'get `"color"`': h.kv_get(b"color"),
            'delete `"color"`': h.kv_delete(b"color"),
            'cas `"color"` from `"blue"` to `"red"`': h.kv_cas(b"color", b"blue", b"red"),
            'cas `"color"` from absent to `"red"`': h.kv_cas(b"color", None, b"red"),
        }
        results = {
            "ok": h.KVResult("ok"),
            'value `"blue"`': h.KVResult("value", value=b"blue"),
            "value absent": h.KVResult("value"),
            "notFound": h.KVResult("notFound"),
            'casFailed, current `"blue"`': h.KVResult("casFailed", value=b"blue"),
            'error `"bad"`': h.KVResult("error", message="bad"),
        }
        self.assertEqual(set(rows), set(ok) | set(results))
        for name, encoding in ok.items():
            self.assertEqual(rows[name].replace(" ", ""), encoding.hex(), name)
        for name, result in results.items():
            self.assertEqual(h.kv_decode_result(bytes.fromhex(rows[name].replace(" ", ""))), result,
                             name)


if __name__ == "__main__":
    unittest.main(verbosity=1)
