#!/usr/bin/python3
"""A reference mqpay device in Python, written from docs/PROTOCOL.md (protocol version 2).

It uses only Debian's python3-paho-mqtt (MQTT 3.1.1) and python3-cryptography (Ed25519), to show
that a device in any language can pay and be paid through an mqpay broker:

  pay:      connects, opens a channel to a payee, pays cumulative vouchers and waits until the
            service has accepted the last one;
  receive:  connects, waits for the channel certificate and the vouchers the service forwards,
            checks each against the certificate offline, and answers each with a signed receipt.

Each run prints one JSON object (what happened) on stdout and exits 0, or prints an error on
stderr and exits 1. Amounts are handled as integers of micro-units, never floats.

Vouchers and receipts travel as the binary frames of protocol v3 (PROTOCOL.md "Binary frames"):
the signed bytes and the signature on out/voucher-bin and out/receipt-bin; verdicts and forwards
come back as small fixed frames on in/voucher-bin and in/receipt-bin. No JSON on that path.
"""
import argparse
import json
import os
import queue
import struct
import sys
import time

import paho.mqtt.client as mqtt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PROTOCOL_VERSION = 3
TOPIC_ROOT = "mqpay/v1"
MICRO = 10**6
WAIT_SECONDS = 15

# Signed layouts (PROTOCOL.md "Signed objects"): an 8-byte domain tag, a version byte, fields.
TOKEN_TAG, VOUCHER_TAG, RECEIPT_TAG, CERTIFICATE_TAG = b"MQPAY-CT", b"MQPAY-VC", b"MQPAY-RC", b"MQPAY-CC"
LAYOUT_VERSION = 1
CERTIFICATE_LAYOUT_VERSION = 2  # since protocol v3: the certificate carries the ledger currency
# Inbox frames (PROTOCOL.md "Binary frames"): tag (8) | frame version 1 | kind | fields.
VOUCHER_INBOX_TAG, INBOX_FRAME_VERSION = b"MQPAY-IV", 1
ACCEPTED, REJECTED, FORWARD = 1, 2, 3


def text_field(value: str) -> bytes:
    """A length byte and 32 bytes of printable ASCII, zero-padded."""
    raw = value.encode("ascii")
    if not 1 <= len(raw) <= 32:
        raise ValueError(f"text field of {len(raw)} bytes")
    return bytes([len(raw)]) + raw + bytes(32 - len(raw))


def connect_password(key: Ed25519PrivateKey, device: str, broker_id: str) -> bytes:
    """The 163-byte CONNECT password: a 99-byte connect token and the device's signature over it."""
    token = TOKEN_TAG + bytes([LAYOUT_VERSION]) + text_field(device) + text_field(broker_id) + struct.pack(">Q", int(time.time() * 1000)) + os.urandom(16)
    assert len(token) == 99
    return token + key.sign(token)


def encode_voucher(channel: bytes, seq: int, total: int, expires_at_seconds: int) -> bytes:
    """82 bytes: tag, version, channel id, seq, total (micro-units), expiry, memo flag 0, zero digest."""
    voucher = VOUCHER_TAG + bytes([LAYOUT_VERSION]) + channel + struct.pack(">QQQ", seq, total, expires_at_seconds) + bytes([0]) + bytes(16)
    assert len(voucher) == 82
    return voucher


def decode_voucher(raw: bytes) -> dict:
    if len(raw) != 82 or raw[:8] != VOUCHER_TAG or raw[8] != LAYOUT_VERSION:
        raise ValueError("not a version 1 voucher")
    seq, total, expires = struct.unpack(">QQQ", raw[41:65])
    return {"channel": raw[9:41], "seq": seq, "total": total, "expires": expires}


def decode_voucher_inbox(frame: bytes) -> dict:
    """A frame of in/voucher-bin: accepted (58 bytes), rejected (52) or a forwarded voucher (189)."""
    sizes = {ACCEPTED: 58, REJECTED: 52, FORWARD: 189}
    if len(frame) < 10 or frame[:8] != VOUCHER_INBOX_TAG or frame[8] != INBOX_FRAME_VERSION or sizes.get(frame[9]) != len(frame):
        raise ValueError("not a version 1 voucher inbox frame")
    kind = frame[9]
    if kind == ACCEPTED:
        seq, total = struct.unpack(">QQ", frame[42:58])
        return {"kind": "accepted", "channel": frame[10:42], "seq": seq, "total": total}
    if kind == REJECTED:
        (error_index,) = struct.unpack(">H", frame[10:12])
        (seq,) = struct.unpack(">Q", frame[44:52])
        return {"kind": "rejected", "error_index": error_index, "channel": frame[12:44], "seq": seq}
    payer = frame[11:11 + frame[10]].decode("ascii")
    return {"kind": "forward", "payer": payer, "voucher": frame[43:125], "signature": frame[125:189]}


def encode_receipt(channel: bytes, seq: int, total: int) -> bytes:
    receipt = RECEIPT_TAG + bytes([LAYOUT_VERSION]) + channel + struct.pack(">QQ", seq, total)
    assert len(receipt) == 57
    return receipt


def decode_certificate(raw: bytes) -> dict:
    """194 bytes (layout version 2): tag, version, channel, payer (1+32), payer key, payee (1+32),
    payee key, deposit, currency (3 ASCII A-Z), expiry, revision."""
    if len(raw) != 194 or raw[:8] != CERTIFICATE_TAG or raw[8] != CERTIFICATE_LAYOUT_VERSION:
        raise ValueError("not a version 2 channel certificate")
    payer = raw[42:42 + raw[41]].decode("ascii")
    payee = raw[107:107 + raw[106]].decode("ascii")
    (deposit,) = struct.unpack(">Q", raw[171:179])
    currency = raw[179:182]
    if not all(0x41 <= byte <= 0x5A for byte in currency):
        raise ValueError("certificate currency is not three ASCII upper-case letters")
    (expires,) = struct.unpack(">Q", raw[182:190])
    return {"channel": raw[9:41], "payer": payer, "payer_key": raw[74:106], "payee": payee, "deposit": deposit, "currency": currency.decode("ascii"), "expires": expires}


def parse_amount(text: str) -> int:
    """A decimal string of the currency to integer micro-units (PROTOCOL.md "JSON rules")."""
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or (fraction and (not fraction.isdigit() or len(fraction) > 6)):
        raise ValueError(f"not an amount: {text!r}")
    return int(whole) * MICRO + int(fraction.ljust(6, "0") or "0")


def format_amount(micro: int) -> str:
    whole, fraction = divmod(micro, MICRO)
    return f"{whole}.{fraction:06d}".rstrip("0").rstrip(".") if fraction else str(whole)


class Device:
    """One MQTT connection as `device`, with its inbox delivered to a queue."""

    def __init__(self, host: str, port: int, device: str, seed: bytes, broker_id: str):
        self.device = device
        self.key = Ed25519PrivateKey.from_private_bytes(seed)
        self.inbox: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        self.client = mqtt.Client(client_id=device, protocol=mqtt.MQTTv311, clean_session=True)
        self.client.username_pw_set(device, connect_password(self.key, device, broker_id))
        self.client.on_message = self._on_message
        connected: "queue.Queue[int]" = queue.Queue()
        self.client.on_connect = lambda _client, _userdata, _flags, rc: connected.put(rc)
        subscribed: "queue.Queue[bool]" = queue.Queue()
        self.client.on_subscribe = lambda *_args: subscribed.put(True)
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        rc = connected.get(timeout=WAIT_SECONDS)
        if rc != 0:
            raise RuntimeError(f"CONNACK return code {rc}")
        # Every box of the inbox at one level (+): the same messages as in/#, and the form a cluster
        # (RabbitMQ) allows, since # could reach a dotted device id's topics there (PROTOCOL.md v3.1).
        self.client.subscribe(f"{TOPIC_ROOT}/d/{device}/in/+", qos=1)
        subscribed.get(timeout=WAIT_SECONDS)
        # Messages published to the inbox before this point were not for this session.
        print("mqpay_device: subscribed to its inbox", file=sys.stderr, flush=True)

    def _on_message(self, _client, _userdata, message) -> None:
        box = message.topic.rsplit("/", 1)[-1]
        try:
            body = decode_voucher_inbox(message.payload) if box == "voucher-bin" else json.loads(message.payload)
        except ValueError as error:
            print(f"mqpay_device: ignored a malformed message on in/{box}: {error}", file=sys.stderr, flush=True)
            return
        self.inbox.put((box, body))

    def publish(self, kind: str, body) -> None:
        """JSON for a dict (rpc), the bytes as they are for a binary frame (voucher-bin, receipt-bin)."""
        payload = bytes(body) if isinstance(body, (bytes, bytearray)) else json.dumps(body)
        info = self.client.publish(f"{TOPIC_ROOT}/d/{self.device}/out/{kind}", payload, qos=1)
        info.wait_for_publish(timeout=WAIT_SECONDS)

    def next(self, box: str, accept) -> dict:
        """The next inbox message of `box` that `accept` takes; others of that box are skipped."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"nothing on in/{box} in {WAIT_SECONDS} s")
            got_box, body = self.inbox.get(timeout=left)
            binary = box.endswith("-bin")
            if got_box == box and (binary or body.get("v") == PROTOCOL_VERSION) and accept(body):
                return body

    def request(self, method: str, params: dict) -> dict:
        request_id = f"py-{os.urandom(6).hex()}"
        self.publish("rpc", {"v": PROTOCOL_VERSION, "id": request_id, "method": method, "params": params})
        reply = self.next("rpc", lambda body: body.get("id") == request_id)
        if not reply["ok"]:
            raise RuntimeError(f"{method}: {reply['error']['code']}")
        return reply["result"]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def pay(device: Device, payee: str, deposit: str, amounts: list) -> dict:
    channel = os.urandom(32)
    opened = device.request("channel.open", {"channel": channel.hex(), "payee": payee, "deposit": deposit, "durationSeconds": 3600})
    total = 0
    for seq, amount in enumerate(amounts, start=1):
        total += parse_amount(amount)
        voucher = encode_voucher(channel, seq, total, int(time.time()) + 3600)
        device.publish("voucher-bin", voucher + device.key.sign(voucher))  # 146 bytes: voucher | signature
    # "accepted at seq n answers every voucher of the channel up to n"; a refusal is final.
    verdict = device.next("voucher-bin", lambda body: body["kind"] != "forward" and body["channel"] == channel and body["seq"] == len(amounts))
    if verdict["kind"] != "accepted":
        raise RuntimeError(f"voucher refused: error index {verdict['error_index']}")
    return {"channel": channel.hex(), "deposit": opened["channel"]["deposit"], "seq": str(verdict["seq"]), "total": format_amount(verdict["total"])}


def receive(device: Device, count: int) -> dict:
    notice = device.next("notice", lambda body: body.get("type") == "channel.certificate")
    certificate = decode_certificate(bytes.fromhex(notice["certificate"]))
    payer_key = Ed25519PublicKey.from_public_bytes(certificate["payer_key"])
    latest = {"seq": 0, "total": 0}
    for _ in range(count):
        forwarded = device.next("voucher-bin", lambda body: body["kind"] == "forward")
        raw, signature = forwarded["voucher"], forwarded["signature"]
        voucher = decode_voucher(raw)
        try:
            payer_key.verify(signature, raw)  # offline, against the certificate's payer key
        except InvalidSignature as error:
            raise RuntimeError("forwarded voucher does not verify") from error
        if voucher["channel"] != certificate["channel"] or voucher["total"] > certificate["deposit"] or voucher["seq"] <= latest["seq"]:
            raise RuntimeError("forwarded voucher does not fit its channel")
        latest = {"seq": voucher["seq"], "total": voucher["total"]}
        receipt = encode_receipt(voucher["channel"], voucher["seq"], voucher["total"])
        device.publish("receipt-bin", receipt + device.key.sign(receipt))  # 121 bytes: receipt | signature
    return {"channel": certificate["channel"].hex(), "payer": certificate["payer"], "seq": str(latest["seq"]), "total": format_amount(latest["total"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--device", required=True, help="this device's id")
    parser.add_argument("--seed-hex", required=True, help="this device's 32-byte Ed25519 seed, 64 hex characters")
    parser.add_argument("--broker-id", default="mqpay")
    sub = parser.add_subparsers(dest="mode", required=True)
    pay_parser = sub.add_parser("pay", help="open a channel and pay")
    pay_parser.add_argument("--payee", required=True)
    pay_parser.add_argument("--deposit", required=True, help='decimal amount, like "2.5"')
    pay_parser.add_argument("amounts", nargs="+", help='each payment, a decimal amount like "0.000125"')
    receive_parser = sub.add_parser("receive", help="receive vouchers and answer with receipts")
    receive_parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    try:
        device = Device(args.host, args.port, args.device, bytes.fromhex(args.seed_hex), args.broker_id)
        try:
            result = pay(device, args.payee, args.deposit, args.amounts) if args.mode == "pay" else receive(device, args.count)
        finally:
            device.close()
    except (RuntimeError, ValueError, TimeoutError, queue.Empty, OSError) as error:
        print(f"mqpay_device: {error or type(error).__name__}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
