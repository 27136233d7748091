// events.ts: the DNS diagnostics channel, one event per query answered, limited or forwarded.
import { channel } from "node:diagnostics_channel";

/** DNS_QUERY_CHANNEL is the channel name metrics subscribe to. */
export const DNS_QUERY_CHANNEL = "portico:dns.query";

/** DnsQueryEvent describes one query; labels come from fixed sets (rcodeName, typeName). */
export interface DnsQueryEvent {
  /** server is the DnsServer's name. */
  server: string;
  transport: "udp" | "tcp";
  /** rcode is the response code's mnemonic ("NOERROR", "NXDOMAIN"...), "DROPPED" when nothing was sent. */
  rcode: string;
  /** qtype is the question type's mnemonic, "OTHER" for the rest, "NONE" when the query had none readable. */
  qtype: string;
  /** limited is set when rate limiting dropped the response or sent it truncated instead. */
  limited?: "drop" | "slip";
  forwarded?: boolean;
}

/** dnsQuery is the channel object; check hasSubscribers before building an event. */
export const dnsQuery = channel(DNS_QUERY_CHANNEL);
