# announce-flows.py: run by announce-flows.ts in the router's namespace. It reads the frames the
# engines send the router on the LAN (a packet socket: Node has none) and prints one JSON line per
# SYN-ACK or RST from the VIP's port to the client: [wall ms, the engine's MAC, client port, kind].
# A SYN-ACK says which engine accepted a connection; a RST from another engine says the router sent
# the flow's later packets to an engine that never had it (ECMP rehashing, a withdrawn next hop).
import json, socket, struct, sys, time

dev, vip_port, client = sys.argv[1], int(sys.argv[2]), socket.inet_aton(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((dev, 0))
print(json.dumps({"ready": True}), flush=True)
while True:
    frame, addr = s.recvfrom(128)
    ip = frame[14:]
    # Incoming only (the router's own forwarded copies go out again), TCP, to the client.
    if addr[2] == socket.PACKET_OUTGOING or ip[9] != 6 or ip[16:20] != client:
        continue
    tcp = ip[(ip[0] & 15) * 4 :]
    sport, dport = struct.unpack("!HH", tcp[:4])
    flags = tcp[13]
    if sport != vip_port or not (flags & 0x04 or flags & 0x12 == 0x12):
        continue
    kind = "R" if flags & 0x04 else "SA"
    print(json.dumps([time.time() * 1000, frame[6:12].hex(":"), dport, kind]), flush=True)
