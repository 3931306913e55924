# A device that reads its inbox and then, told so, stops reading, with a receive buffer as small
# as Linux allows. Node cannot set SO_RCVBUF on a socket, and a paused Node socket on loopback
# lets the kernel absorb megabytes first (its receive buffer grows to tcp_rmem's maximum), so ten
# such readers take minutes to fill; with a buffer of a few KiB set before connect (so the TCP
# window is negotiated small), the broker holds the excess within seconds.
#
# argv: host port connect-hex subscribe-hex. The CONNECT (with the device's signed connect token)
# and SUBSCRIBE packets are built by the test. stdout: "ready" once subscribed, "frozen" once it
# has stopped reading, "closed" when the broker closes the connection. stdin: "freeze" stops the
# reading; end of stdin ends the process.
import socket
import sys
import threading

RECEIVE_BUFFER_BYTES = 2048

host, port, connect_hex, subscribe_hex = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
sock.connect((host, port))
frozen = threading.Event()
lock = threading.Lock()


def say(word):
    with lock:
        sys.stdout.write(word + "\n")
        sys.stdout.flush()


def read_exactly(count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_packet():
    first = read_exactly(1)[0]
    length, shift = 0, 0
    while True:
        byte = read_exactly(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte & 0x80 == 0:
            break
    return first, read_exactly(length)


def reader():
    try:
        while True:
            kind, body = read_packet()
            if kind >> 4 == 9:  # SUBACK
                say("ready")
            elif kind >> 4 == 3 and (kind >> 1) & 3 == 1:  # PUBLISH at QoS 1: PUBACK it
                topic_length = int.from_bytes(body[0:2], "big")
                packet_id = body[2 + topic_length:4 + topic_length]
                sock.sendall(bytes([0x40, 0x02]) + packet_id)
            if frozen.is_set():
                say("frozen")
                return  # nothing reads this socket again
    except (EOFError, OSError):
        pass
    say("closed")


sock.sendall(bytes.fromhex(connect_hex))
kind, body = read_packet()
if kind >> 4 != 2 or body[1] != 0:
    say("refused")
    sys.exit(1)
sock.sendall(bytes.fromhex(subscribe_hex))
threading.Thread(target=reader, daemon=True).start()
for line in sys.stdin:
    if line.strip() == "freeze":
        frozen.set()
# stdin closed: the test is done with this device.
