#!/usr/bin/env python3
"""Checks hybster_client's Ed25519, X25519 and HKDF against the RFCs' test vectors.

    python3 test_crypto.py        (exit status 0 when every vector passes)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hybster_client as h  # noqa: E402

# RFC 8032, section 7.1: (secret key, public key, message, signature).
ED25519_VECTORS = [
    (  # TEST 1
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (  # TEST 2
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (  # TEST 3
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


class Ed25519Tests(unittest.TestCase):
    def test_rfc8032_vectors(self):
        for secret, public, message, signature in ED25519_VECTORS:
            secret, public = bytes.fromhex(secret), bytes.fromhex(public)
            message, signature = bytes.fromhex(message), bytes.fromhex(signature)
            self.assertEqual(h.ed25519_public_key(secret), public)
            self.assertEqual(h.ed25519_sign(secret, message), signature)
            self.assertTrue(h.ed25519_verify(public, message, signature))

    def test_rejects_altered_signatures_and_messages(self):
        secret, public, message, signature = (bytes.fromhex(x) for x in ED25519_VECTORS[2])
        self.assertFalse(h.ed25519_verify(public, message + b"\x00", signature))
        for position in (0, 31, 32, 63):
            bad = bytearray(signature)
            bad[position] ^= 1
            self.assertFalse(h.ed25519_verify(public, message, bytes(bad)))


class X25519Tests(unittest.TestCase):
    def test_rfc7748_section_5_2(self):
        self.assertEqual(
            h.x25519(
                bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")),
            bytes.fromhex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"))

    def test_rfc7748_iterated(self):
        k = u = (9).to_bytes(32, "little")
        k, u = h.x25519(k, u), k
        self.assertEqual(
            k, bytes.fromhex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"))
        for _ in range(999):
            k, u = h.x25519(k, u), k
        self.assertEqual(
            k, bytes.fromhex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"))

    def test_rfc7748_section_6_1(self):
        alice = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        bob = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
        alice_public = h.x25519_public_key(alice)
        bob_public = h.x25519_public_key(bob)
        self.assertEqual(
            alice_public,
            bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
        self.assertEqual(
            bob_public,
            bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
        shared = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        self.assertEqual(h.x25519(alice, bob_public), shared)
        self.assertEqual(h.x25519(bob, alice_public), shared)


class HKDFTests(unittest.TestCase):
    def test_rfc5869_case_1(self):
        okm = h.hkdf_sha256(
            bytes.fromhex("0b" * 22), bytes.fromhex("000102030405060708090a0b0c"),
            bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42)
        self.assertEqual(okm.hex(), (
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865"))

    def test_rfc5869_case_3_empty_salt(self):
        okm = h.hkdf_sha256(bytes.fromhex("0b" * 22), b"", b"", 42)
        self.assertEqual(okm.hex(), (
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8"))


if __name__ == "__main__":
    unittest.main(verbosity=1)
