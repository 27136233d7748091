// versions.ts: which releases the conformance run uses, with build.sh's defaults and overrides (it
// reads the same variables), and the stamp build.sh writes to .cache/conformance/bin/.version once
// a build of exactly those has finished — so a check can tell a current build from an old one.

/** GATEWAY_API is the Gateway API release whose suite runs (build.sh: GATEWAY_API_VERSION). */
export const GATEWAY_API = process.env.GATEWAY_API_VERSION ?? "1.6.3";
/** COREDNS is the coredns release built as the UDPRoute backend (build.sh: COREDNS_VERSION). */
export const COREDNS = process.env.COREDNS_VERSION ?? "1.12.2";
/** BUILD_STAMP is build.sh's `$GWAPI/coredns$COREDNS`, the content of bin/.version. */
export const BUILD_STAMP = `${GATEWAY_API}/coredns${COREDNS}`;
