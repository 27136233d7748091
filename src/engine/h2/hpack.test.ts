// hpack.test.ts: the HPACK decoder against RFC 7541 Appendix C (C.2 to C.6, each series on one
// connection's dynamic table), its errors (RFC 7541 §4.2, §5.1, §5.2), and the encoder by round
// trip through the decoder and by the bytes it must produce for static-table fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HpackDecoder, HpackError } from "./hpack-decoder.ts";
import { DynamicTable } from "./dynamic-table.ts";
import { HpackEncoder } from "./hpack-encoder.ts";
import { huffmanDecode, huffmanEncode, huffmanLength } from "./huffman.ts";

// RFC 7541 C.3 to C.6 (as transcribed in golang.org/x/net/http2/hpack's tests): each step is a
// header block, the list it decodes to, the dynamic table after it (newest first) and its size.
const SERIES = [
  {
    name: "C.3",
    tableSize: 4096,
    steps: [
      {
        hex: "828684410f7777772e6578616d706c652e636f6d",
        want: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
        table: [":authority", "www.example.com"],
        size: 57,
      },
      {
        hex: "828684be58086e6f2d6361636865",
        want: [
          ":method",
          "GET",
          ":scheme",
          "http",
          ":path",
          "/",
          ":authority",
          "www.example.com",
          "cache-control",
          "no-cache",
        ],
        table: ["cache-control", "no-cache", ":authority", "www.example.com"],
        size: 110,
      },
      {
        hex: "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
        want: [
          ":method",
          "GET",
          ":scheme",
          "https",
          ":path",
          "/index.html",
          ":authority",
          "www.example.com",
          "custom-key",
          "custom-value",
        ],
        table: ["custom-key", "custom-value", "cache-control", "no-cache", ":authority", "www.example.com"],
        size: 164,
      },
    ],
  },
  {
    name: "C.4",
    tableSize: 4096,
    steps: [
      {
        hex: "828684418cf1e3c2e5f23a6ba0ab90f4ff",
        want: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
        table: [":authority", "www.example.com"],
        size: 57,
      },
      {
        hex: "828684be5886a8eb10649cbf",
        want: [
          ":method",
          "GET",
          ":scheme",
          "http",
          ":path",
          "/",
          ":authority",
          "www.example.com",
          "cache-control",
          "no-cache",
        ],
        table: ["cache-control", "no-cache", ":authority", "www.example.com"],
        size: 110,
      },
      {
        hex: "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
        want: [
          ":method",
          "GET",
          ":scheme",
          "https",
          ":path",
          "/index.html",
          ":authority",
          "www.example.com",
          "custom-key",
          "custom-value",
        ],
        table: ["custom-key", "custom-value", "cache-control", "no-cache", ":authority", "www.example.com"],
        size: 164,
      },
    ],
  },
  {
    name: "C.5",
    tableSize: 256,
    steps: [
      {
        hex: "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        want: [
          ":status",
          "302",
          "cache-control",
          "private",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "location",
          "https://www.example.com",
        ],
        table: [
          "location",
          "https://www.example.com",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "cache-control",
          "private",
          ":status",
          "302",
        ],
        size: 222,
      },
      {
        hex: "4803333037c1c0bf",
        want: [
          ":status",
          "307",
          "cache-control",
          "private",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "location",
          "https://www.example.com",
        ],
        table: [
          ":status",
          "307",
          "location",
          "https://www.example.com",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "cache-control",
          "private",
        ],
        size: 222,
      },
      {
        hex: "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
        want: [
          ":status",
          "200",
          "cache-control",
          "private",
          "date",
          "Mon, 21 Oct 2013 20:13:22 GMT",
          "location",
          "https://www.example.com",
          "content-encoding",
          "gzip",
          "set-cookie",
          "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ],
        table: [
          "set-cookie",
          "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
          "content-encoding",
          "gzip",
          "date",
          "Mon, 21 Oct 2013 20:13:22 GMT",
        ],
        size: 215,
      },
    ],
  },
  {
    name: "C.6",
    tableSize: 256,
    steps: [
      {
        hex: "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        want: [
          ":status",
          "302",
          "cache-control",
          "private",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "location",
          "https://www.example.com",
        ],
        table: [
          "location",
          "https://www.example.com",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "cache-control",
          "private",
          ":status",
          "302",
        ],
        size: 222,
      },
      {
        hex: "4883640effc1c0bf",
        want: [
          ":status",
          "307",
          "cache-control",
          "private",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "location",
          "https://www.example.com",
        ],
        table: [
          ":status",
          "307",
          "location",
          "https://www.example.com",
          "date",
          "Mon, 21 Oct 2013 20:13:21 GMT",
          "cache-control",
          "private",
        ],
        size: 222,
      },
      {
        hex: "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        want: [
          ":status",
          "200",
          "cache-control",
          "private",
          "date",
          "Mon, 21 Oct 2013 20:13:22 GMT",
          "location",
          "https://www.example.com",
          "content-encoding",
          "gzip",
          "set-cookie",
          "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ],
        table: [
          "set-cookie",
          "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
          "content-encoding",
          "gzip",
          "date",
          "Mon, 21 Oct 2013 20:13:22 GMT",
        ],
        size: 215,
      },
    ],
  },
];

function table(d: HpackDecoder): string[] {
  const out: string[] = [];
  for (let i = 0; i < d.table.length; i++) out.push(d.table.name(i), d.table.value(i));
  return out;
}

function decode(d: HpackDecoder, hex: string): string[] {
  const b = Buffer.from(hex.replace(/\s/g, ""), "hex");
  const out: string[] = [];
  d.decode(b, 0, b.length, out);
  return out;
}

for (const s of SERIES) {
  test(`RFC 7541 ${s.name}: each block of the series decodes, and the dynamic table matches`, () => {
    const d = new HpackDecoder({ tableSize: s.tableSize, maxListSize: 1 << 16 });
    for (const step of s.steps) {
      assert.deepEqual(decode(d, step.hex), step.want);
      assert.deepEqual(table(d), step.table);
      assert.equal(d.table.size, step.size);
    }
  });
}

test("RFC 7541 C.2: literal with and without indexing, never indexed, indexed", () => {
  const d = new HpackDecoder({ tableSize: 4096, maxListSize: 1 << 16 });
  assert.deepEqual(decode(d, "400a637573746f6d2d6b65790d637573746f6d2d686561646572"), [
    "custom-key",
    "custom-header",
  ]);
  assert.equal(d.table.size, 55);
  const d2 = new HpackDecoder({ tableSize: 4096, maxListSize: 1 << 16 });
  assert.deepEqual(decode(d2, "040c2f73616d706c652f70617468"), [":path", "/sample/path"]);
  assert.equal(d2.table.length, 0);
  assert.deepEqual(decode(d2, "100870617373776f726406736563726574"), ["password", "secret"]);
  assert.equal(d2.table.length, 0);
  assert.deepEqual(decode(d2, "82"), [":method", "GET"]);
});

test("Huffman: every octet round-trips, and the RFC's example encodes to its bytes", () => {
  const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  const buf = Buffer.alloc(huffmanLength(all));
  assert.equal(huffmanEncode(all, buf, 0), buf.length);
  assert.equal(huffmanDecode(buf, 0, buf.length), all);
  const www = Buffer.alloc(huffmanLength("www.example.com"));
  huffmanEncode("www.example.com", www, 0);
  assert.equal(www.toString("hex"), "f1e3c2e5f23a6ba0ab90f4ff");
});

test("Huffman errors: EOS in the string, padding longer than 7 bits, padding not all ones", () => {
  // 30 bits of EOS then padding.
  assert.throws(() => huffmanDecode(Buffer.from("ffffffff", "hex"), 0, 4), /EOS/);
  // 'a' is 00011 (5 bits); a whole byte of ones after it is padding of 11 bits.
  assert.throws(() => huffmanDecode(Buffer.from("1fff", "hex"), 0, 2), /padding/);
  // 'a' then 000: padding not made of ones.
  assert.throws(() => huffmanDecode(Buffer.from("18", "hex"), 0, 1), /padding/);
  assert.equal(huffmanDecode(Buffer.from("1f", "hex"), 0, 1), "a");
});

test("decoder errors are HpackError (COMPRESSION_ERROR)", () => {
  const bad = (hex: string, size = 4096) => {
    const d = new HpackDecoder({ tableSize: size, maxListSize: 1 << 16 });
    assert.throws(() => decode(d, hex), HpackError, hex);
  };
  bad("80"); // index 0
  bad("be"); // index 62 with an empty dynamic table
  bad("823f e11f"); // size update after a field
  bad("3fe21f", 4096); // size update to 4097 (above SETTINGS_HEADER_TABLE_SIZE)
  bad("ff"); // integer cut short
  bad("ffffffffffff7f"); // integer too large
  bad("4005616263"); // string longer than the block
  bad("0f"); // truncated
});

test("a size update at the start of a block is applied and evicts", () => {
  const d = new HpackDecoder({ tableSize: 4096, maxListSize: 1 << 16 });
  decode(d, "400a637573746f6d2d6b65790d637573746f6d2d686561646572");
  assert.equal(d.table.length, 1);
  assert.deepEqual(decode(d, "2082"), [":method", "GET"]);
  assert.equal(d.table.length, 0);
  assert.equal(d.table.max, 0);
});

test("a header list above the limit is decoded to the end but flagged, and the table stays in step", () => {
  const d = new HpackDecoder({ tableSize: 4096, maxListSize: 60 });
  const out = decode(
    d,
    "400a637573746f6d2d6b65790d637573746f6d2d686561646572400a637573746f6d2d6b65790d637573746f6d2d686561646572",
  );
  assert.equal(d.tooLarge, true);
  assert.deepEqual(out, ["custom-key", "custom-header"]);
  assert.equal(d.table.length, 2);
  decode(d, "82");
  assert.equal(d.tooLarge, false);
});

test("encoder: static fields are one byte, and blocks round-trip with and without the dynamic table", () => {
  const e = new HpackEncoder();
  assert.equal(e.encode([":status", "200"]).toString("hex"), "88");
  assert.equal(e.encode([":status", "404"]).toString("hex"), "8d");
  const fields = [
    ":status",
    "503",
    "content-type",
    "text/plain",
    "x-custom",
    "Value\u00e9",
    "content-length",
    "12",
  ];
  for (const dyn of [0, 4096]) {
    const enc = new HpackEncoder(dyn);
    const d = new HpackDecoder({ tableSize: 4096, maxListSize: 1 << 16 });
    for (let round = 0; round < 3; round++) {
      const b = enc.encode(fields);
      const out: string[] = [];
      d.decode(b, 0, b.length, out);
      assert.deepEqual(out, fields);
    }
  }
  // With the dynamic table, a repeated field costs one byte.
  const enc = new HpackEncoder(4096);
  const first = enc.encode(["server", "portico"]).length;
  assert.equal(enc.encode(["server", "portico"]).length, 1);
  assert.ok(first > 1);
});

test("encoder: a lowered peer table size is announced at the start of the next block", () => {
  const enc = new HpackEncoder(4096);
  const d = new HpackDecoder({ tableSize: 4096, maxListSize: 1 << 16 });
  const run = (f: string[]) => {
    const b = enc.encode(f);
    const out: string[] = [];
    d.decode(b, 0, b.length, out);
    return { b, out };
  };
  run(["server", "portico"]);
  enc.setPeerTableSize(0);
  const { b, out } = run(["server", "portico"]);
  assert.equal(b[0], 0x20);
  assert.deepEqual(out, ["server", "portico"]);
  assert.equal(d.table.length, 0);
});

test("integers of endless 0x80 continuation bytes are HpackError, not NaN (index and size update)", () => {
  const long = (first: number, n: number) =>
    Buffer.concat([Buffer.from([first]), Buffer.alloc(n, 0x80), Buffer.from([0])]);
  for (const b of [long(0xff, 147), long(0x3f, 147), long(0xff, 5), long(0x0f, 40)]) {
    const d = new HpackDecoder({ tableSize: 4096, maxListSize: 65_536 });
    assert.throws(() => d.decode(b, 0, b.length, []), HpackError, b.subarray(0, 4).toString("hex"));
    assert.equal(d.table.max, 4096);
  }
  // Four continuation bytes are still read: 2^28 - 1 is too large, but an HpackError that says so.
  const d = new HpackDecoder({ tableSize: 4096, maxListSize: 65_536 });
  const ok = Buffer.from([0x3f, 0xe1, 0x1f]); // size update to 31 + 97 + 31 * 128 = 4096
  d.decode(ok, 0, ok.length, []);
  assert.equal(d.table.max, 4096);
});

test("DynamicTable.resize refuses what is not a size", () => {
  const t = new DynamicTable(4096);
  for (const bad of [Number.NaN, -1, 1.5, Infinity]) assert.throws(() => t.resize(bad), RangeError);
  assert.equal(t.max, 4096);
});

test("encoder: date is indexed (one byte within its second); index lookups stay right across evictions", () => {
  const enc = new HpackEncoder(4096);
  const date = ["date", "Mon, 07 Dec 2026 18:00:00 GMT"];
  assert.ok(enc.encode(date).length > 1);
  assert.equal(enc.encode(date).length, 1);
  // A small table evicts all the time: every block still decodes to what was encoded, whether a
  // field was found in the table, added, or its entry evicted since (the lookup map is rebuilt).
  for (const size of [100, 256, 4096]) {
    const e = new HpackEncoder(size);
    const d = new HpackDecoder({ tableSize: size, maxListSize: 1 << 16 });
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let round = 0; round < 2000; round++) {
      const fields: string[] = [];
      for (let f = next() % 5; f >= 0; f--)
        fields.push(`x-h${next() % 12}`, `v${next() % 9}`.repeat(1 + (next() % 4)));
      const b = e.encode(fields);
      const out: string[] = [];
      d.decode(b, 0, b.length, out);
      assert.deepEqual(out, fields, `table ${size}, round ${round}`);
    }
  }
});

test("encoder: a response block starts with its status (200 as the static entry), then the fields", () => {
  const enc = new HpackEncoder(4096);
  const d = new HpackDecoder({ tableSize: 4096, maxListSize: 1 << 16 });
  for (const status of [200, 204, 404, 599]) {
    const b = Buffer.from(enc.block(status, ["content-type", "text/plain", "content-length", "13"]));
    if (status === 200) assert.equal(b[0], 0x88);
    const out: string[] = [];
    d.decode(b, 0, b.length, out);
    assert.deepEqual(out, [":status", String(status), "content-type", "text/plain", "content-length", "13"]);
  }
});
