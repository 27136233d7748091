// events.ts: the L4 diagnostics channel, published once when a session opens and once when it closes.
import { channel } from "node:diagnostics_channel";

/** L4_SESSION_CHANNEL is the channel name metrics subscribe to. */
export const L4_SESSION_CHANNEL = "portico:l4.session";

/** L4SessionEvent describes a TCP connection or UDP session; bytes are client-side totals. */
export interface L4SessionEvent {
  listener: string;
  protocol: "TCP" | "UDP";
  pool: string;
  /** backend is "address:port", or "" when no backend could be reached. */
  backend: string;
  event: "open" | "close" | "reject";
  /** bytesIn came from the client, bytesOut went to it. */
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

/** l4Session is the channel object; check hasSubscribers before building an event. */
export const l4Session = channel(L4_SESSION_CHANNEL);
