// main.ts: the `portico` command. Each subcommand lives in its own module, loaded on demand so
// `portico validate` does not pay for the data plane.
import { CliError, parseCommon, refuseFlags } from "./args.ts";
import { StateError } from "../state/errors.ts";
import { version } from "./version.ts";

const usage = `portico — load balancing and ingress for Kubernetes

Usage:
  portico run DIR... [--state-dir DIR] [--admin HOST:PORT] [--http-port N] [--https-port N]
      [--workers N|auto] [--access-log FILE|-] [--waf-log FILE|-] [--no-classless] [--fresh-state]
      [--max-connections N] [--max-connections-per-listener N] [--max-connection-rate N]
      [--request-body-buffer SIZE] [--request-body-timeout DURATION]   (docs/limits.md)
      [--max-file-size 64MiB] [--max-objects 50000] [--file-settle 100ms] [--removal-confirm 2s]
      [--rescan-interval 5s]   (how files are watched and read, and the limits: docs/reloads.md)
      [--engine-listen HOST:PORT] [--no-local-engine]   (remote engines: docs/engines.md)
      [--analytics on|off]   (per-service traffic figures for the console: docs/analytics.md)
      [--admin-token-file FILE]   (required when --admin is not loopback: docs/cli.md)
      Serve the manifests in DIR (watched): VIPs, L4 and L7 traffic, admin API and the console
      at http://ADMIN/ (default 127.0.0.1:9901; docs/console.md).
  portico validate DIR... | validate --admin HOST:PORT   [-o table|yaml|json]
      Check manifests offline (or what a running Portico loaded); exits 1 listing file:line errors.
  portico translate DIR... | translate --admin HOST:PORT   [-o yaml|json|table|wide]
      Print the engine configuration, VIP allocations and statuses the manifests produce.
  portico explain KIND/NS/NAME [DIR...] [--admin HOST:PORT] [-o table|wide|yaml|json]
      Say in plain words how one object gets (or does not get) its VIP, ports and backends.
      KIND/NS/NAME: service, ingress, gateway, httproute, grpcroute, tlsroute, tcproute, udproute,
      wafpolicy, accesspolicy;
      KIND/NAME: vippool, ingressclass, enginegroup, dnszone. With --kubeconfig F: explain from a cluster instead.
  portico get services|ingresses|gateways|routes|pools|enginegroups|dns|policies|all [DIR...] [--admin HOST:PORT]
      [-o table|wide|yaml|json]
      A kubectl-like table: EXTERNAL-IP (or <pending>); pools with used/free/pending per family.
  portico get engines [--admin HOST:PORT] [-o table|wide|yaml|json]
      The engines of a running Portico (--engine-listen): acked version, ready, load.
  portico controller [--kubeconfig F] [--namespaces a,b] [--state-dir DIR] [--identity ID]
      [--lease-namespace NS] [--lease-name NAME] [--no-leader-elect] [--lease-duration S]
      [--renew-deadline S] [--retry-period S] [--http-port N] [--https-port N] [--no-classless]
      [--admin HOST:PORT] [--admin-token-file FILE] [--engine-namespace NS] [--engine-image IMAGE] [--default-engine-group]
      [--engine-listen HOST:PORT] [--no-local-engine]
      [--admission-listen HOST:PORT (--admission-cert FILE --admission-key FILE | --admission-ca-file FILE)]
      Run against a cluster: watch the API, serve VIPs, write status, Events and a leader Lease;
      keep one engine Deployment/DaemonSet per EngineGroup (with an image: flag or $PORTICO_IMAGE);
      the leader alone opens the engine port (default 0.0.0.0:9443 in a pod, else off);
      /healthz, /readyz, /metrics on --admin (default 127.0.0.1:9901); with --admission-listen,
      the tenant admission webhook (docs/tenants.md: admission, deploy/admission.yaml).
  portico engine --controller HOST:PORT[,HOST:PORT...] --ca-file FILE (--token-file FILE | $PORTICO_ENGINE_TOKEN)
      [--name N] [--group G] [--node N] [--zone Z] [--admin HOST:PORT] [--workers N|auto]
      [--access-log FILE|-] [--waf-log FILE|-] [--max-connections N] [--max-connection-rate N] [--drain-timeout 30s]
      [--analytics on|off]
      Run a data-plane engine of group G (default "default"): take snapshots from the controller,
      serve them (the last good one while the controller is away); admin on 127.0.0.1:9902.
      SIGTERM drains: listeners close, open connections finish, exit 0 (docs/engines.md).
  portico size [--admin HOST:PORT] [--group G] [--headroom 30%] [--window 1h] [--state-dir DIR]
      [-o table|json]
      How close each engine group came to saturation over the window, and what to run for the
      headroom asked (docs/engines.md). Reads a running Portico's engines (GET /api/v1/engines).
  portico size --calibrate [--duration 5s] [--state-dir DIR] [-o table|json]
      Measure this machine's per-core capacity (HTTP, HTTPS, TLS handshakes) with wrk and nginx,
      and record it in DIR/calibration.json, where portico size and the controller read it.
  portico migrate metallb|ingress-nginx DIR|FILE|-... [--write] [--out DIR] [--engine-group NAME]
      Convert MetalLB pools, advertisements and peers (metallb) or ingress-nginx classes, Ingresses
      and its controller ConfigMap (ingress-nginx) to Portico's objects: a dry run prints a diff
      and a report of everything not carried over; --write writes in place or to --out DIR
      (docs/migration.md).
  portico certificates renew [NAMESPACE/]NAME [--admin HOST:PORT]
      Order the built-in ACME issuer's certificate stored under Secret NAME now (portico run;
      in Kubernetes annotate the Secret with portico.dev/renew, docs/certificates.md).
  portico logs [--vs KEY] [--status 5xx|CODE] [--reason slow,...] [--route R] [--client IP] [--grep TEXT]
      [--since 10m] [--until TIME] [--limit N] [--admin HOST:PORT] [-o table|wide|yaml|json]
      The requests a running Portico kept, newest first: 5xx, resets, timeouts, slow, refused by a
      policy or the WAF (always), and every request of a service while full logs are on.
  portico logs full [VS --for 10m | VS --off] [--admin HOST:PORT]
      Log every request of virtual service VS for up to an hour (--off stops); alone: what is on.
  portico state restore|reset [--state-dir DIR]
      Put back the state backup (portico.db.bak), or start afresh; replaced files are kept aside
      (docs/state.md).
  portico version | --version
      Print the version.
  portico help | --help | -h
      Print this help.

Offline and live: validate, translate, explain and get answer offline from DIR (saying so in one
line on stderr), or ask the running Portico at --admin (default 127.0.0.1:9901) when no DIR is given.

Common flags:
  --state-dir DIR    VIP allocations in DIR/portico.db; for run, state and offline answers the
                     default is $PORTICO_STATE_DIR, /var/lib/portico for root, else
                     $XDG_STATE_HOME/portico or ~/.local/state/portico (controller: none unless given)
  --http-port N      the shared Ingress VIP's HTTP port (default 80); --https-port N (default 443)
  --no-classless     leave LoadBalancer Services without spec.loadBalancerClass to another load balancer
  --fresh-state      (run) set the saved state aside and start with no allocations
  -o FORMAT          table, wide, yaml or json (anything else is an error)

Exit codes: 0 ok; 1 an error in the manifests, an object that does not exist, no running
Portico, a refused or locked state directory, or an --admin port run cannot bind; 2 a usage error (unknown command, flag, -o value, or a directory that does not exist).
Reference: docs/cli.md
`;

const commands: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  run: () => import("./run.ts"),
  validate: () => import("./validate.ts"),
  translate: () => import("./translate.ts"),
  explain: () => import("./kube-explain.ts"),
  get: () => import("./get.ts"),
  controller: () => import("./controller.ts"),
  engine: () => import("./engine.ts"),
  state: () => import("./state.ts"),
  size: () => import("./size.ts"),
  migrate: () => import("./migrate.ts"),
  certificates: () => import("./certificates.ts"),
  logs: () => import("./logs.ts"),
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
    process.stdout.write(usage);
    return cmd ? 0 : 2;
  }
  if (cmd === "version" || cmd === "--version") {
    process.stdout.write(`portico ${version()}\n`);
    return 0;
  }
  const load = commands[cmd];
  if (!load) throw new CliError(`unknown command "${cmd}"; run 'portico help' for the list`);
  // A bad PORTICO_OWN_SOCKETS or PORTICO_H2_CODEC is a usage error before anything starts (the
  // engine would refuse it).
  if (cmd === "run" || cmd === "engine") {
    try {
      (await import("../engine/net/accept-path.ts")).ownSocketsSetting();
      (await import("../engine/l7/h2-own.ts")).codecSetting();
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  if (cmd === "run")
    refuseFlags(
      parseCommon(rest),
      ["-o"],
      "'portico run' prints no document; -o is for get, explain, translate and validate",
    );
  return (await load()).main(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`portico: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof StateError) {
    // A refused state file is the user's to fix: one line saying what to do, no stack trace.
    process.stderr.write(`portico: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}
