// vars.ts: a transaction's variables. The phases store what they parsed (headers, query and body
// pairs, response) as base collections and scalars; the collections rules read are built from
// those on first use and kept until the next phase adds data (ARGS, *_NAMES, sizes), so a phase
// whose rules never read ARGS_NAMES never builds it. TX and the per-transaction stand-ins for the
// persistent collections (IP, GLOBAL, SESSION, USER, RESOURCE) and ENV are live maps.
import { SCALARS } from "../lang/names.ts";
import { LiveMap } from "./live-map.ts";
import type { ConnInfo } from "./types.ts";
import type { CompiledRule } from "./program.ts";

/** Member is one value of a collection: its name as sent, lower-cased once, and its value;
 * `full` is the variable's name as MATCHED_VAR_NAME shows it (`ARGS:q`), once a rule reads it. */
export interface Member {
  key: string;
  lower: string;
  value: string;
  full?: string;
  /** raw is a match's value before the rule's transformations (the hit's evidence). */
  raw?: string;
}

/** named gives a member of collection coll its full name (`ARGS:q`; a scalar's is coll). */
export function named(coll: string, m: Member): Member {
  return { key: m.key, lower: m.lower, value: m.value, full: fullName(coll, m.key) };
}

/** fullName is a member's name as MATCHED_VAR_NAME shows it (`ARGS:q`; a scalar's is coll). */
export function fullName(coll: string, key: string): string {
  return key === "" ? coll : `${coll}:${key}`;
}

/** member makes a Member. */
export function member(key: string, value: string): Member {
  return { key, lower: key.toLowerCase(), value };
}

const EMPTY: readonly Member[] = [member("", "")];
const NO_MEMBERS: readonly Member[] = [];
const LIVE = new Set(["TX", "IP", "GLOBAL", "SESSION", "USER", "RESOURCE", "ENV"]);
const DYNAMIC = new Set([
  "MATCHED_VARS",
  "MATCHED_VARS_NAMES",
  "MATCHED_VAR",
  "MATCHED_VAR_NAME",
  "RULE",
  "HIGHEST_SEVERITY",
  "DURATION",
]);
const NAMES: Record<string, string> = {
  ARGS_NAMES: "ARGS",
  ARGS_GET_NAMES: "ARGS_GET",
  ARGS_POST_NAMES: "ARGS_POST",
  REQUEST_HEADERS_NAMES: "REQUEST_HEADERS",
  REQUEST_COOKIES_NAMES: "REQUEST_COOKIES",
  RESPONSE_HEADERS_NAMES: "RESPONSE_HEADERS",
};

/** SLOTS numbers the names of the stored variables — the scalars and collections fill.ts, the body
 * processors and ctl store, a fixed set of ~80 names written in the code, never taken from a
 * request — once for every transaction: a transaction keeps them in arrays by number, where new
 * maps per transaction grew their tables four times each (a clean GET stores ~45 names). */
const SLOTS = new Map<string, number>();

function slotOf(name: string): number {
  let i = SLOTS.get(name);
  if (i === undefined) {
    i = SLOTS.size;
    SLOTS.set(name, i);
  }
  return i;
}

/** isLive says whether a collection is one of the writable maps (TX, IP, ..., ENV). */
export function isLive(name: string): boolean {
  return LIVE.has(name);
}

/** fixedBetweenChanges says whether a variable's members stay the same until the phase data
 * changes (Vars.version): not the live collections, nor MATCHED_*, RULE and the timing ones. */
export function fixedBetweenChanges(name: string): boolean {
  return !LIVE.has(name) && !DYNAMIC.has(name) && !name.startsWith("TIME") && name !== "DURATION";
}

/** Vars holds one transaction's variables. */
export class Vars {
  /** base and scalars: the stored collections and scalars by slot (SLOTS). */
  private readonly base: (Member[] | undefined)[] = [];
  private readonly scalars: (string | undefined)[] = [];
  private readonly derived = new Map<string, readonly Member[]>();
  private readonly namedCache = new Map<string, readonly Member[]>();
  private readonly whereCache = new Map<string, readonly Member[]>();
  /** byName: per collection, its members by lower-case name, for the list they were indexed
   * from (`of`): kept across data changes while members(name) gives that same list back (a
   * stored collection is never changed in place: setCollection stores a new one). The CRS reads
   * two dozen single headers (`REQUEST_HEADERS:User-Agent`) per phase. */
  private byName: Map<string, { of: readonly Member[]; by: Map<string, Member[]> }> | undefined;
  /** stored: each stored collection's list and each stored scalar's one-member list, as members()
   * gives them, kept across data changes (one lookup, where a list built into derived after each
   * change took five); a scalar's list is kept while its value is the same (a phase's fill stores
   * a dozen scalars; most keep their value). */
  private readonly stored: (readonly Member[] | undefined)[] = [];
  /** live: TX and the other writable collections, lower-case key → member. */
  private readonly live = new Map<string, LiveMap>();
  /** matchedVars: this rule's matches so far (MATCHED_VARS); key is the variable's full name. */
  matchedVars: Member[] = [];
  matchedVar: Member | undefined;
  rule: CompiledRule | undefined;
  highestSeverity = 255;
  private readonly conn: ConnInfo;
  private readonly started: number;

  constructor(conn: ConnInfo) {
    this.conn = conn;
    this.started = performance.now();
  }

  /** setCollection stores a base collection (drops what was built from the old data). */
  setCollection(name: string, members: Member[]): void {
    const i = slotOf(name);
    this.base[i] = members;
    this.stored[i] = members;
    this.changed();
  }

  /** setScalar stores a scalar variable. */
  setScalar(name: string, value: string): void {
    const i = slotOf(name);
    this.scalars[i] = value;
    // A stored collection of the same name reads before the scalar (as it always did).
    if (this.base[i] === undefined) {
      const kept = this.stored[i];
      if (kept === undefined || (kept[0] as Member).value !== value) this.stored[i] = [member("", value)];
    }
    this.changed();
  }

  /** version counts changes of the stored data (what named() lists are built from). */
  version = 0;

  private changed(): void {
    this.version++;
    // Map.clear() allocates a new table even when empty; a phase's fill stores a dozen scalars.
    if (this.derived.size > 0) this.derived.clear();
    if (this.namedCache.size > 0) this.namedCache.clear();
    if (this.whereCache.size > 0) this.whereCache.clear();
  }

  /** named lists a variable's members with their full names, kept until the data changes (the
   * live collections and the MATCHED_*, RULE and timing variables are named on each read). */
  named(name: string): readonly Member[] {
    if (LIVE.has(name) || DYNAMIC.has(name)) return this.members(name).map((m) => named(name, m));
    let out = this.namedCache.get(name);
    if (!out) {
      out = this.members(name).map((m) => named(name, m));
      this.namedCache.set(name, out);
    }
    return out;
  }

  /** namedWhere is named(name) filtered by pick(sel, ·), kept under key (the collection and the
   * selector) until the data changes, so the many rules reading `REQUEST_HEADERS:User-Agent`
   * filter the headers once per phase. */
  namedWhere<S>(name: string, key: string, sel: S, pick: (sel: S, m: Member) => boolean): readonly Member[] {
    if (LIVE.has(name) || DYNAMIC.has(name)) {
      // Picked first, then named: TX holds dozens of variables and a selector takes few.
      const out: Member[] = [];
      const take = (m: Member) => {
        if (pick(sel, m)) out.push(named(name, m));
      };
      // A live collection read in place (members() would copy it first).
      if (LIVE.has(name)) this.live.get(name)?.each(take);
      else this.members(name).forEach(take);
      return out;
    }
    let out = this.namedCache.get(key);
    if (!out) {
      out = this.named(name).filter((m) => pick(sel, m));
      this.namedCache.set(key, out);
    }
    return out;
  }

  /** where is members(name) filtered by pick(sel, ·), unnamed, kept under key until the data
   * changes; for the collections whose members stay fixed between changes only. */
  where<S>(name: string, key: string, sel: S, pick: (sel: S, m: Member) => boolean): readonly Member[] {
    let out = this.whereCache.get(key);
    if (!out) {
      out = this.members(name).filter((m) => pick(sel, m));
      this.whereCache.set(key, out);
    }
    return out;
  }

  /** whereName is where(name, ·) for a name selector: the members named lower (lower-case),
   * in their order, from the collection's name index (byName). */
  whereName(name: string, lower: string): readonly Member[] {
    const ms = this.members(name);
    const byName = (this.byName ??= new Map());
    let idx = byName.get(name);
    if (idx === undefined || idx.of !== ms) {
      const by = new Map<string, Member[]>();
      for (const m of ms) {
        const l = by.get(m.lower);
        if (l === undefined) by.set(m.lower, [m]);
        else l.push(m);
      }
      idx = { of: ms, by };
      byName.set(name, idx);
    }
    return idx.by.get(lower) ?? NO_MEMBERS;
  }

  /** scalar reads a scalar variable as stored. */
  scalar(name: string): string | undefined {
    const i = SLOTS.get(name);
    return i === undefined ? undefined : this.scalars[i];
  }

  /** collection returns the live map of a writable collection (TX, IP, ..., ENV). */
  collection(name: string): LiveMap {
    let m = this.live.get(name);
    if (!m) {
      m = new LiveMap();
      this.live.set(name, m);
    }
    return m;
  }

  /** liveMember looks a member of a live collection (TX, IP, ...) up by lower-case name: null
   * when it is not set, undefined when name is not a live collection. */
  liveMember(name: string, lower: string): Member | null | undefined {
    if (!LIVE.has(name)) return undefined;
    return this.live.get(name)?.get(lower) ?? null;
  }

  /** txValue reads TX:key (case-insensitive), undefined when unset. */
  txValue(key: string): string | undefined {
    return this.live.get("TX")?.get(key.toLowerCase())?.value;
  }

  /** members lists a variable's values (a scalar has one member with an empty key, or none). */
  members(name: string): readonly Member[] {
    // Stored and built lists first: the live and dynamic collections are never kept in either.
    const i = SLOTS.get(name);
    if (i !== undefined) {
      const kept = this.stored[i];
      if (kept !== undefined) return kept;
    }
    const built = this.derived.get(name);
    if (built !== undefined) return built;
    if (LIVE.has(name)) {
      const m = this.live.get(name);
      return m ? m.list() : [];
    }
    switch (name) {
      case "MATCHED_VARS":
        return this.matchedVars;
      case "MATCHED_VARS_NAMES":
        return this.matchedVars.map((m) => member(m.key, m.key));
      case "MATCHED_VAR":
        return [member("", this.matchedVar?.value ?? "")];
      case "MATCHED_VAR_NAME":
        return [member("", this.matchedVar?.key ?? "")];
      case "RULE":
        return this.ruleMembers();
      case "HIGHEST_SEVERITY":
        return [member("", String(this.highestSeverity))];
      case "DURATION":
        // ModSecurity: microseconds since the transaction started.
        return [member("", String(Math.round((performance.now() - this.started) * 1000)))];
    }
    const fresh = this.build(name);
    this.derived.set(name, fresh);
    return fresh;
  }

  private baseOf(name: string): readonly Member[] {
    const i = SLOTS.get(name);
    return (i === undefined ? undefined : this.base[i]) ?? NO_MEMBERS;
  }

  private build(name: string): readonly Member[] {
    // Stored collections and scalars are read from stored (members()).
    const of = NAMES[name];
    if (of) return this.members(of).map((m) => ({ key: m.key, lower: m.lower, value: m.key }));
    switch (name) {
      case "ARGS":
        return [...this.baseOf("ARGS_GET"), ...this.baseOf("ARGS_POST")];
      case "ARGS_COMBINED_SIZE": {
        let n = 0;
        for (const m of this.members("ARGS")) n += m.key.length + m.value.length;
        return [member("", String(n))];
      }
      case "FILES_COMBINED_SIZE": {
        let n = 0;
        for (const m of this.members("FILES_SIZES")) n += Number(m.value);
        return [member("", String(n))];
      }
    }
    if (name.startsWith("TIME")) return this.time(name);
    // An unset scalar reads as one empty value (Coraza): `!@rx` on REQBODY_PROCESSOR matches
    // when there is none, which is how CRS 901340 turns on body inspection for any content type.
    return SCALARS.has(name) ? EMPTY : [];
  }

  private time(name: string): readonly Member[] {
    const d = new Date(this.conn.now);
    const two = (n: number) => String(n).padStart(2, "0");
    const values: Record<string, string> = {
      TIME: `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`,
      TIME_EPOCH: String(Math.floor(this.conn.now / 1000)),
      TIME_DAY: String(d.getUTCDate()),
      TIME_HOUR: String(d.getUTCHours()),
      TIME_MIN: String(d.getUTCMinutes()),
      TIME_MON: String(d.getUTCMonth() + 1),
      TIME_SEC: String(d.getUTCSeconds()),
      TIME_WDAY: String(d.getUTCDay()),
      TIME_YEAR: String(d.getUTCFullYear()),
    };
    const v = values[name];
    return v === undefined ? [] : [member("", v)];
  }

  private ruleMembers(): Member[] {
    const r = this.rule;
    if (!r) return [];
    const out = [member("id", String(r.id)), member("phase", String(r.phase)), member("rev", r.rev)];
    out.push(member("ver", r.ver));
    if (r.msg) out.push(member("msg", r.msg.raw));
    if (r.logdata) out.push(member("logdata", r.logdata.raw));
    if (r.severity !== undefined) out.push(member("severity", String(r.severity)));
    return out;
  }
}
