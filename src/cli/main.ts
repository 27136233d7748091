// main.ts: the `portico` command. Each subcommand lives in its own module, loaded on demand so
// `portico validate` does not pay for the data plane.
import { CliError } from "./args.ts";

const usage = `portico — load balancing and ingress for Kubernetes

Usage:
  portico run DIR... [--state-dir DIR] [--admin HOST:PORT] [--http-port N] [--https-port N] [--workers N|auto]
      [--access-log FILE|-] [--max-file-size 64MiB] [--max-objects 50000] [--file-settle 100ms]
      [--removal-confirm 2s] [--rescan-interval 5s]
      Serve the manifests in DIR (watched): VIPs, L4 and L7 traffic, admin API (default 127.0.0.1:9901).
      How files are watched and read, and the limits: docs/reloads.md.
  portico validate DIR...
      Check manifests offline; exits 1 listing file:line errors.
  portico translate DIR... [-o yaml|json] [--state-dir DIR]
      Print the engine configuration, VIP allocations and statuses the manifests produce.
  portico explain service/NS/NAME DIR...      (or ingress/NS/NAME; --kubeconfig F instead of DIR)
      Say in plain words how the object gets (or does not get) its VIP, its ports and backends.
  portico get services|ingresses [DIR...] [--admin HOST:PORT]
      A kubectl-like table with EXTERNAL-IP (or <pending>), offline from DIR or from a running Portico.
  portico controller [--kubeconfig F] [--namespaces a,b] [--state-dir DIR] [--identity ID] [--no-leader-elect]
      Run against a cluster: watch the API, serve VIPs, write status, Events and a leader Lease (docs/kubernetes.md).

Common flags:
  --no-classless     leave LoadBalancer Services without spec.loadBalancerClass to another load balancer
  --state-dir DIR    keep VIP allocations in DIR/portico.db so they survive restarts
`;

const commands: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  run: () => import("./run.ts"),
  validate: () => import("./offline.ts").then((m) => ({ main: m.validateMain })),
  translate: () => import("./offline.ts").then((m) => ({ main: m.translateMain })),
  explain: () => import("./kube-explain.ts"),
  get: () => import("./get.ts"),
  controller: () => import("./controller.ts"),
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
    process.stdout.write(usage);
    return cmd ? 0 : 2;
  }
  const load = commands[cmd];
  if (!load) throw new CliError(`unknown command "${cmd}"; run 'portico help' for the list`);
  return (await load()).main(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`portico: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    throw err;
  }
}
