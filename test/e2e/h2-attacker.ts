// h2-attacker.ts: a rapid-reset attacker run as its own process (so its work does not share the
// measuring client's event loop): `node h2-attacker.ts PORT CONNECTIONS AUTHORITY ADDRESS FROM`
// (FROM: the attacker's own loopback address, another host than the client it is measured against).
// Each connection resets streams as fast as it can and reconnects when cut, until the process is killed. It
// prints one line per second: connections cut so far, and how many with GOAWAY ENHANCE_YOUR_CALM.
import { ENHANCE_YOUR_CALM, RawH2, rapidReset } from "./h2-raw.ts";

const port = Number(process.argv[2]);
const conns = Number(process.argv[3] ?? 4);
const authority = process.argv[4] ?? "a.test";
const address = process.argv[5] ?? "127.0.0.1";
const from = process.argv[6];
let cuts = 0;
let calm = 0;
async function attack(): Promise<void> {
  for (;;) {
    try {
      const c = await RawH2.open(port, undefined, address, from);
      await rapidReset(c, authority);
      await c.until("close", () => c.closed, 10_000).catch(() => c.close());
      cuts++;
      if (c.goaway() === ENHANCE_YOUR_CALM) calm++;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
setInterval(() => console.log(JSON.stringify({ cuts, calm })), 1000);
for (let i = 0; i < conns; i++) void attack();
