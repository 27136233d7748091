// testing.ts: event builders shared by the analytics tests (not imported by product code).
import type { HttpResponseEvent } from "../engine/l7/events.ts";

/** httpEvent is a quick 200 of route r on listener L, vhost a.example. */
export function httpEvent(over: Partial<HttpResponseEvent> = {}): HttpResponseEvent {
  return {
    listener: "L",
    route: "Ingress/default/web#0",
    vhost: "a.example",
    pool: "default/web:80",
    backend: "127.0.0.2:8080",
    status: 200,
    durationMs: 10,
    bytesIn: 0,
    bytesOut: 100,
    client: "127.0.0.9",
    method: "GET",
    authority: "a.example",
    path: "/x?q=1",
    protocol: "HTTP/1.1",
    ...over,
  };
}
