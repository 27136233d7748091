// top-pack.ts: a closed pyramid cell's top lists as deflated JSON, deflated against a dictionary of
// the virtual service's own: the text of its first closed cell's lists. A service's cells name the
// same routes, backends, user agents and mostly the same URLs and clients from cell to cell, so
// each cell then costs what differs from the first: ~190 bytes a cell of the bound test's services
// of 10 routes instead of ~380 deflated alone (~110 instead of ~260 for one route), for one
// dictionary of ~0.7–1.3 KiB a service (docs/analytics.md, Memory and disk). The dictionary never
// changes once taken (every cell packed with it must inflate with it); lists that drift away from
// it cost what they did without one.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { TopLists } from "./types.ts";

/** DICT_MIN: the shortest text taken as the dictionary (a cell with few names makes a poor one). */
const DICT_MIN = 200;

// A packed string's first character says how its rest was deflated.
const PLAIN = "\x00";
const WITH_DICT = "\x01";

/** TopPacker packs and unpacks one virtual service's closed top lists (one-byte strings). */
export class TopPacker {
  #dict: string | undefined;

  /** pack deflates lists (taking the first long enough as the dictionary). */
  pack(top: TopLists): string {
    const json = JSON.stringify(top);
    if (this.#dict === undefined && json.length >= DICT_MIN) this.#dict = json;
    if (this.#dict === undefined) return PLAIN + deflateRawSync(json).toString("latin1");
    return WITH_DICT + deflateRawSync(json, { dictionary: Buffer.from(this.#dict) }).toString("latin1");
  }

  /** unpack inflates what pack answered. */
  unpack(packed: string): TopLists {
    const raw = Buffer.from(packed.slice(1), "latin1");
    const text = packed.startsWith(WITH_DICT)
      ? inflateRawSync(raw, { dictionary: Buffer.from(this.#dict!) })
      : inflateRawSync(raw);
    return JSON.parse(text.toString()) as TopLists;
  }
}
