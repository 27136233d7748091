// sharing.test.ts: story tables for sharing keys — TCP and UDP 53 on one address, port clashes,
// key mismatches, and new requests joining their key's address.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pool, req, runStory, tcp, udp } from "./testing.ts";

const dns = (name: string, ports = [udp(53)], extra = {}) =>
  req(name, { sharingKey: "dns", ports, ...extra });

test("sharing: TCP and UDP 53 share; a port clash and a foreign key do not", () => {
  runStory(
    [pool("blue", ["192.0.2.0/30"])],
    [
      {
        desc: "dns over UDP",
        set: [dns("dns-udp", [udp(53)])],
        want: { "Service/default/dns-udp": ["192.0.2.0"] },
      },
      {
        desc: "dns over TCP joins the same address",
        set: [dns("dns-tcp", [tcp(53)])],
        want: { "Service/default/dns-tcp": ["192.0.2.0"] },
        check: (out) => {
          assert.equal(out.poolStatus.blue?.assignedIPv4, 1);
          assert.equal(out.poolStatus.blue?.availableIPv4, 3);
          assert.deepEqual(out.state["Service/default/dns-tcp"]?.sharingKey, "dns");
        },
      },
      {
        desc: "same key, clashing port, no address named: gets a fresh one",
        set: [dns("dns-tcp2", [tcp(53)])],
        want: { "Service/default/dns-tcp2": ["192.0.2.1"] },
      },
      {
        desc: "same key, clash on a requested address",
        set: [dns("dns-clash", [udp(53)], { requested: ["192.0.2.0"] })],
        want: {
          "Service/default/dns-clash":
            'PortClash: no address: pool "blue": 53/UDP on 192.0.2.0 is used by Service/default/dns-udp',
        },
      },
      {
        desc: "different key on a requested shared address",
        set: [req("other", { sharingKey: "web", requested: ["192.0.2.0"] })],
        want: { "Service/default/other": "SharingKeyMismatch" },
        check: (out) => {
          const r = out.results["Service/default/other"];
          assert.ok(r && !r.ok);
          assert.match(r.message, /held by Service\/default\/dns-tcp with sharing key "dns", not "web"/);
        },
      },
      {
        desc: "no key on a requested shared address",
        set: [req("nokey", { requested: ["192.0.2.0"] })],
        want: { "Service/default/nokey": "RequestedIPTaken" },
      },
      {
        desc: "requested shared address without clash is granted",
        set: [dns("dns-dot", [tcp(853)], { requested: ["192.0.2.1"] })],
        want: { "Service/default/dns-dot": ["192.0.2.1"] },
      },
      {
        desc: "a key never shares with a keyless holder, even when picking automatically",
        set: [req("plain", { ports: [tcp(9999)] })],
        want: { "Service/default/plain": ["192.0.2.2"] },
      },
      {
        desc: "the UDP holder leaves; the clashing requester now gets 192.0.2.0",
        del: ["Service/default/dns-udp"],
        want: { "Service/default/dns-clash": ["192.0.2.0"], "Service/default/dns-tcp": ["192.0.2.0"] },
      },
    ],
  );
});

test("sharing: a new request prefers its key's address even in a later pool", () => {
  runStory(
    [pool("first", ["192.0.2.0/30"], { priority: 1 }), pool("second", ["198.51.100.0/30"], { priority: 2 })],
    [
      {
        desc: "the first member is pinned to the second pool",
        set: [req("a", { sharingKey: "k", pool: "second" })],
        want: { "Service/default/a": ["198.51.100.0"] },
      },
      {
        desc: "a second member without a pool joins it rather than taking a fresh address",
        set: [req("b", { sharingKey: "k", ports: [tcp(443)] })],
        want: { "Service/default/b": ["198.51.100.0"] },
      },
      {
        desc: "a member whose ports clash gets a fresh address in priority order",
        set: [req("c", { sharingKey: "k" })],
        want: { "Service/default/c": ["192.0.2.0"] },
      },
      {
        desc: "sticky sharing survives a restart",
        restart: true,
        want: {
          "Service/default/a": ["198.51.100.0"],
          "Service/default/b": ["198.51.100.0"],
          "Service/default/c": ["192.0.2.0"],
        },
      },
      {
        desc: "b changes its ports to clash with a: the older holder keeps the address, b moves",
        set: [req("b", { sharingKey: "k", ports: [tcp(80)], order: "z" })],
        want: { "Service/default/a": ["198.51.100.0"], "Service/default/b": ["192.0.2.1"] },
      },
    ],
  );
});
