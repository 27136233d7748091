// shared-pick.ts: the balancer's view of a request's client (PickContext) without an object or
// closures per request: one SharedPick per front serves every pick, pointed at the request asking
// before each (Upstreams.pick is synchronous and keeps nothing of it). What it reads of the request
// comes from a PickReader of module-level functions.
import type { PickContext } from "../contracts.ts";
import { cookieValue } from "./cookie.ts";

/** PickReader reads, from a front's request (or connection), what a ConsistentHash pool may hash. */
export interface PickReader<T> {
  ip(of: T): string;
  /** header returns a request header by its lower-case name. */
  header(of: T, name: string): string | undefined;
  /** uri returns the request target as received. */
  uri(of: T): string | undefined;
}

/** SharedPick is a PickContext reading whichever request of() pointed it at. */
export class SharedPick<T> implements PickContext {
  sourceIp = "";
  exclude: ReadonlySet<string> | undefined = undefined;
  prefer: string | undefined = undefined;
  private readonly read: PickReader<T>;
  private src: T | undefined = undefined;

  constructor(read: PickReader<T>) {
    this.read = read;
  }

  of(src: T, exclude: ReadonlySet<string> | undefined): this {
    this.src = src;
    this.sourceIp = this.read.ip(src);
    this.exclude = exclude;
    this.prefer = undefined;
    return this;
  }
  header(n: string): string | undefined {
    const s = this.src;
    return s === undefined ? undefined : this.read.header(s, n);
  }
  cookie(n: string): string | undefined {
    return cookieValue(this.header("cookie"), n);
  }
  uri(): string | undefined {
    const s = this.src;
    return s === undefined ? undefined : this.read.uri(s);
  }
}
